// Request dispatch: admin endpoints, the publish endpoint, then the route table.
// Each handler answers through the Connection's response API (possibly later).
#pragma once

#include <string_view>

#include "gateway/router/route_table.h"

namespace sluice::app {

class Connection;
class Worker;

// Entry point, called once per request on the connection's loop thread: when the request
// is complete, or at its head when streams_request_body() says its body is streamed.
void handle_request(Connection& conn);

// At the head of a request with a body: true when its route takes the body as a stream
// (proxy routes), so the request is dispatched at once.
bool streams_request_body(Connection& conn);

// The reason of a 413 for a body over the parser's limit, naming the limit that governs
// this request: limits.max_event_size on the publish endpoint, else limits.max_body_size.
std::string_view body_too_large_reason(Connection& conn);

// /_sluice/health, /_sluice/ready or /_sluice/metrics.
bool is_admin_path(std::string_view path);

// Handlers (one file each).
bool handle_admin(Connection& conn);    // false if the path is not an admin path
bool handle_publish(Connection& conn);  // false if the path is not the publish path
void handle_sse(Connection& conn, const router::Match& match);
void handle_poll(Connection& conn, const router::Match& match);
void handle_proxy(Connection& conn, const router::Match& match);
void handle_static(Connection& conn, const router::Match& match);

// A new client connection on worker `w`: starts the loop's proxy state (pools, health

}  // namespace sluice::app
