// Building HTTP/1.1 responses as bytes. Responses sluice writes itself are small;
// SSE bodies are written by the stream, not here.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::http {

// "OK", "Not Found", ... ("Unknown" for codes sluice does not use).
std::string_view status_text(int status);

struct ResponseHead {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers
    bool keep_alive = true;  // writes "Connection: keep-alive" or "close"
};

// Full response with Content-Length and body. HEAD-style callers pass an empty body.
std::string build_response(const ResponseHead& head, std::string_view body,
                           std::string_view content_type = "application/json");

// Head only, for bodies that follow: the status line (`reason`, or the standard phrase
// when empty), `head.headers` in order, then "Transfer-Encoding: chunked" when `chunked`,
// then Connection as head.keep_alive says.
std::string build_head(const ResponseHead& head, std::string_view reason, bool chunked);

// One chunk of a chunked body (n == 0 is the last chunk) around `bytes`.
std::string chunk(std::string_view bytes);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Small JSON error body: {"error":"<reason>","status":N}
std::string error_body(int status, std::string_view reason);

}  // namespace sluice::http
