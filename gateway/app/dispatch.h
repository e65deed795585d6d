// Request dispatch: admin endpoints, the publish endpoint, then the route table. Handlers
// see the request only through pipeline::Request (never the HTTP/1.1 connection that
// carries it) and the loop's services through a Context.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/app/runtime.h"
#include "gateway/pipeline/request.h"
#include "gateway/router/route_table.h"

namespace sluice::app {

class Worker;

// What a handler may use besides its request: the loop it runs on and the config the
// request started under (kept alive by the request until it ends).
struct Context {
    Worker& worker;
    const RuntimePtr& runtime;
    bool admin_listener = false;  // accepted on admin.listen: admin endpoints only
};

// Entry point, called once per request on the loop thread: when the request is complete,
// or at its head when streams_request_body() says its body is streamed.
void handle_request(pipeline::Request& req, const Context& ctx);

// At the head of a request with a body: true when its route takes the body as a stream
// (proxy routes), so the request is dispatched at once.
bool streams_request_body(const http::RequestHead& req, const Runtime& rt, bool admin_listener);

// The reason of a 413 for a body over the parser's limit, naming the limit that governs
// this request: limits.max_event_size on the publish endpoint, else limits.max_body_size.
std::string_view body_too_large_reason(const http::RequestHead& req, const Runtime& rt);

// The channel a publish request names (its {channel}), or nullopt when it is not a valid
// channel name (the handler answers 400).
std::optional<std::string> publish_channel(const router::Captures& caps);

// /_sluice/health, /_sluice/ready or /_sluice/metrics.
bool is_admin_path(std::string_view path);

// Handlers (one file each).
bool handle_admin(pipeline::Request& req, const Context& ctx);    // false: not an admin path
void handle_publish(pipeline::Request& req, const Context& ctx, const router::Captures& caps);
void handle_sse(pipeline::Request& req, const Context& ctx, const router::Match& match);
void handle_poll(pipeline::Request& req, const Context& ctx, const router::Match& match);
void handle_proxy(pipeline::Request& req, const Context& ctx, const router::Match& match);
void handle_static(pipeline::Request& req, const Context& ctx, const router::Match& match);

}  // namespace sluice::app
