#include "gateway/app/dispatch.h"

#include "gateway/app/connection.h"
#include "gateway/core/log.h"

namespace sluice::app {

void handle_request(Connection& conn) {
    if (handle_publish(conn)) return;
    const Runtime& rt = *conn.request_runtime();
    // The parser admits bodies up to the larger of the publish and request limits;
    // everything but the publish endpoint is held to max_body_size.
    if (conn.request_body().size() > rt.config->limits.max_body_size) {
        conn.set_route_label("-");
        conn.respond_error(413, "request body larger than limits.max_body_size");
        return;
    }
    if (handle_admin(conn)) return;
    const http::RequestHead& req = conn.request();
    router::Match m = rt.routes.match(req.method, req.path);
    switch (m.kind) {
    case router::Match::Kind::NotFound:
        conn.set_route_label("-");
        conn.respond_error(404, "no route for this path");
        return;
    case router::Match::Kind::MethodNotAllowed:
        conn.set_route_label(m.route->route->label());
        conn.respond_error(405, "method not allowed", {{"Allow", m.allow}});
        return;
    case router::Match::Kind::Found:
        break;
    }
    conn.set_route_label(m.route->route->label());
    switch (m.route->route->kind) {
    case config::RouteKind::Sse: handle_sse(conn, m); return;
    case config::RouteKind::Poll: handle_poll(conn, m); return;
    case config::RouteKind::Proxy:
    case config::RouteKind::Static:
        // Proxy and static routes are accepted by the config and land with issue #4.
        log::warn("route kind not implemented yet", log::field("route", m.route->route->label()));
        conn.respond_error(501, "route kind not implemented in this build");
        return;
    }
}

}  // namespace sluice::app
