#include "gateway/app/dispatch.h"

#include "gateway/app/server.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"

namespace sluice::app {

namespace {

// Runs a chain's request-head filters, then the handler. A chain without them calls the
// handler at once: nothing is copied or allocated for routes that have no filters.
template <typename Handler>
void through(const pipeline::FilterChain& chain, pipeline::Request& req, Handler handler) {
    if (!chain.filters_requests()) {
        handler();
        return;
    }
    chain.run(req, std::function<void()>(std::move(handler)));
}

}  // namespace

void handle_request(pipeline::Request& conn, const Context& ctx) {
    // With admin.listen, the admin listener serves the admin endpoints and nothing else,
    // and the public listeners do not serve them (they are not routed either).
    if (ctx.admin_listener) {
        if (!handle_admin(conn, ctx)) {
            conn.set_route_label("-");
            conn.respond_error(404, "the admin listener serves only /_sluice/health, "
                                    "/_sluice/ready and /_sluice/metrics");
        }
        return;
    }
    const Runtime& rt = *ctx.runtime;
    if (rt.publish_path) {
        router::Captures caps;
        if (rt.publish_path->match(conn.head().path, caps)) {
            conn.set_route_label(rt.config->publish->path);
            conn.set_filters(&rt.publish_filters);
            // A suspended filter resumes after this returns: copy what the handler needs.
            through(rt.publish_filters, conn, [&conn, ctx, caps = std::move(caps)] {
                handle_publish(conn, ctx, caps);
            });
            return;
        }
    }
    // The parser admits bodies up to the larger of the publish and request limits;
    // everything but the publish endpoint is held to max_body_size. (Streamed bodies of
    // proxy routes are not held here: request_body() stays empty for them.)
    if (conn.body().size() > rt.config->limits.max_body_size) {
        conn.set_route_label("-");
        conn.respond_error(413, "request body larger than limits.max_body_size");
        return;
    }
    const http::RequestHead& req = conn.head();
    if (!ctx.worker.server().has_admin_listener()) {
        if (handle_admin(conn, ctx)) return;
    } else if (is_admin_path(req.path)) {
        conn.set_route_label("-");
        conn.respond_error(404, "no route for this path");
        return;
    }
    router::Match m = rt.routes.match(req.method, req.path);
    switch (m.kind) {
    case router::Match::Kind::NotFound:
        conn.set_route_label("-");
        conn.respond_error(404, "no route for this path");
        return;
    case router::Match::Kind::MethodNotAllowed: {
        // Through the route's filters too: a CORS preflight (OPTIONS) is answered by its
        // filter, and a 405 gets the route's response headers like any other answer.
        conn.set_route_label(m.route->route->label());
        const pipeline::FilterChain& chain = rt.route_filters[m.index];
        conn.set_filters(&chain);
        through(chain, conn, [&conn, allow = std::move(m.allow)] {
            conn.respond_error(405, "method not allowed", {{"Allow", allow}});
        });
        return;
    }
    case router::Match::Kind::Found:
        break;
    }
    conn.set_route_label(m.route->route->label());
    const pipeline::FilterChain& chain = rt.route_filters[m.index];
    conn.set_filters(&chain);
    through(chain, conn, [&conn, ctx, m = std::move(m)] {
        switch (m.route->route->kind) {
        case router::RouteKind::Sse: handle_sse(conn, ctx, m); return;
        case router::RouteKind::Poll: handle_poll(conn, ctx, m); return;
        case router::RouteKind::Proxy: handle_proxy(conn, ctx, m); return;
        case router::RouteKind::Static: handle_static(conn, ctx, m); return;
        }
    });
}

bool streams_request_body(const http::RequestHead& req, const Runtime& rt, bool admin_listener) {
    if (rt.publish_path) {
        router::Captures caps;
        if (rt.publish_path->match(req.path, caps)) return false;
    }
    // The admin endpoints come before the routes (on the admin listener, nothing else is
    // served); their bodies are read whole, like any request not proxied.
    if (admin_listener || is_admin_path(req.path)) return false;
    router::Match m = rt.routes.match(req.method, req.path);
    return m.kind == router::Match::Kind::Found &&
           m.route->route->kind == router::RouteKind::Proxy;
}

}  // namespace sluice::app
