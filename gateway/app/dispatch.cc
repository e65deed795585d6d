#include "gateway/app/dispatch.h"

#include "gateway/app/connection.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"

namespace sluice::app {

void handle_request(Connection& conn) {
    if (handle_publish(conn)) return;
    const Runtime& rt = *conn.request_runtime();
    // The parser admits bodies up to the larger of the publish and request limits;
    // everything but the publish endpoint is held to max_body_size. (Streamed bodies of
    // proxy routes are not held here: request_body() stays empty for them.)
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
    case config::RouteKind::Proxy: handle_proxy(conn, m); return;
    case config::RouteKind::Static: handle_static(conn, m); return;
    }
}

bool streams_request_body(Connection& conn) {
    const Runtime& rt = *conn.worker().runtime();
    const http::RequestHead& req = conn.request();
    if (rt.publish_path) {
        router::Captures caps;
        if (rt.publish_path->match(req.path, caps)) return false;
    }
    // The admin endpoints (handle_admin) come before the routes.
    if (req.path == "/_sluice/health" || req.path == "/_sluice/ready" ||
        req.path == "/_sluice/metrics")
        return false;
    router::Match m = rt.routes.match(req.method, req.path);
    return m.kind == router::Match::Kind::Found &&
           m.route->route->kind == config::RouteKind::Proxy;
}

}  // namespace sluice::app
