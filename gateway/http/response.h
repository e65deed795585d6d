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

// Head only, for streamed bodies (SSE): no Content-Length, Connection as given.
std::string build_stream_head(const ResponseHead& head, std::string_view content_type);

// Small JSON error body: {"error":"<reason>","status":N}
std::string error_body(int status, std::string_view reason);

}  // namespace sluice::http
