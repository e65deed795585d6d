// /_sluice/health, /_sluice/ready and /_sluice/metrics (docs/operations.md; the paths
// are admin/paths.h's): on the public listeners, or only on the admin listener when
// admin.listen is set (dispatch.cc).
#include "gateway/admin/paths.h"
#include "gateway/app/dispatch.h"
#include "gateway/app/server.h"
#include "gateway/app/worker.h"

namespace sluice::app {

bool is_admin_path(std::string_view path) {
    return admin::endpoint_for(path) != admin::Endpoint::None;
}

bool handle_admin(pipeline::Request& conn, const Context& ctx) {
    const std::string& path = conn.head().path;
    admin::Endpoint endpoint = admin::endpoint_for(path);
    if (endpoint == admin::Endpoint::None) return false;
    conn.set_route_label(path);
    const std::string& method = conn.head().method;
    if (method != "GET" && method != "HEAD") {
        conn.respond_error(405, "method not allowed", {{"Allow", "GET, HEAD"}});
        return true;
    }
    Worker& w = ctx.worker;
    if (endpoint == admin::Endpoint::Health) {
        conn.respond(200, R"({"status":"ok"})");
    } else if (endpoint == admin::Endpoint::Ready) {
        bool ready = w.server().ready() && !w.draining();
        conn.respond(ready ? 200 : 503, ready ? R"({"ready":true})" : R"({"ready":false})");
    } else {
        conn.respond(200, w.server().render_metrics(), "text/plain; version=0.0.4; charset=utf-8");
    }
    return true;
}

}  // namespace sluice::app
