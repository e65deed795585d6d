// The header rewriting a reverse proxy does, as pure functions: the request head sent
// upstream (hop-by-hop headers dropped, X-Forwarded-*, X-Request-Id, Host, body framing)
// and the response head sent back to the client (hop-by-hop dropped, framing and
// Connection set by sluice). Used by ProxyExchange; unit-tested on their own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/http/request.h"
#include "gateway/http/response_parser.h"

namespace sluice::proxy {

// Connection-specific headers (RFC 9110 7.6.1, plus the legacy Keep-Alive and
// Proxy-Connection): never forwarded in either direction. Expect is handled by sluice
// itself (it answers 100 Continue), so it is not forwarded either.
bool is_hop_by_hop(std::string_view name);

// True when `name` is listed in a Connection header value ("close, X-Foo").
bool listed_in_connection(std::string_view connection_value, std::string_view name);

// How a body is delimited when sluice writes it.
enum class Framing {
    None,     // no body
    Length,   // Content-Length, bytes passed as they are
    Chunked,  // re-framed as chunks
    Close,    // until the connection closes (HTTP/1.0 clients only)
};

struct ForwardedFor {
    std::string client_address;  // the peer address of the client connection
    std::string request_id;      // kept from the client or generated
    std::string host;            // Host value to send upstream
    bool secure = false;         // the client came over TLS: X-Forwarded-Proto https
};

// Request line (original target, HTTP/1.1) and headers for the upstream. Content-Length
// is sent as received for Framing::Length; Framing::Chunked sends Transfer-Encoding.
std::string build_upstream_head(const http::RequestHead& req, const ForwardedFor& fwd,
                                Framing body);

// The client's X-Request-Id if it is usable (1..200 visible ASCII characters), else "".
std::string usable_request_id(const http::RequestHead& req);

// The upstream's end-to-end headers for the client (hop-by-hop ones and those named in
// Connection dropped; the carrier adds its own framing). Content-Length is kept unless
// the body's length is unknown to the client (`unknown_length`: it will be re-framed)
// or the status is 204, which never has one (a HEAD response keeps it: it announces the
// length of the body it does not carry). `request_id` is added as X-Request-Id unless
// the upstream set one.
std::vector<std::pair<std::string, std::string>> client_headers(const http::ResponseInfo& resp,
                                                                bool unknown_length,
                                                                std::string_view request_id);

// "1a3\r\n": the line before a chunk of n bytes.
std::string chunk_prefix(size_t n);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Idempotent methods (RFC 9110 9.2.2): the only ones sluice retries.
bool is_idempotent(std::string_view method);

}  // namespace sluice::proxy
