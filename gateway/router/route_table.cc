// Route table: compiles routes once, then answers (method, path) lookups in file
// order. Lookups are linear; route lists are short and the first match must win anyway.
#include "gateway/router/route_table.h"

#include <algorithm>

namespace sluice::router {

namespace {

std::string route_where(const Route& r) {
    return "route " + r.label() + " (line " + std::to_string(r.line) + "): ";
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += sep;
        out += v[i];
    }
    return out;
}

}  // namespace

std::optional<RouteTable> RouteTable::build(const std::vector<Route>& routes, std::string* error) {
    auto fail = [&](std::string msg) -> std::optional<RouteTable> {
        if (error) *error = std::move(msg);
        return std::nullopt;
    };
    RouteTable table;
    table.routes_.reserve(routes.size());
    for (const Route& r : routes) {
        CompiledRoute cr;
        cr.route = &r;
        if (r.path.empty() == r.prefix.empty())
            return fail(route_where(r) + "exactly one of path and prefix must be set");
        if (!r.has_kind_options()) return fail(route_where(r) + "missing handler settings");
        std::string err;
        if (!r.path.empty()) {
            cr.path = PathTemplate::parse(r.path, &err);
            if (!cr.path) return fail(route_where(r) + "path: " + err);
        }
        if (const std::string* ch = r.channel()) {
            cr.channel = ChannelTemplate::parse(*ch, &err);
            if (!cr.channel) return fail(route_where(r) + "channel: " + err);
        }
        table.routes_.push_back(std::move(cr));
    }
    return table;
}

Match RouteTable::match(std::string_view method, std::string_view raw_path) const {
    Match m;
    for (size_t i = 0; i < routes_.size(); ++i) {
        const CompiledRoute& cr = routes_[i];
        bool hit = cr.path ? cr.path->match(raw_path, m.captures)
                           : raw_path.substr(0, cr.route->prefix.size()) == cr.route->prefix;
        if (!hit) continue;
        m.route = &cr;
        m.index = i;
        const std::vector<std::string>& methods = cr.route->methods;
        bool allowed = methods.empty() ||
                       std::find(methods.begin(), methods.end(), method) != methods.end();
        if (allowed) {
            m.kind = Match::Kind::Found;
        } else {
            m.kind = Match::Kind::MethodNotAllowed;
            m.allow = join(methods, ", ");
        }
        return m;
    }
    return m;  // PathTemplate::match leaves captures empty when it fails
}

const sse::SseRouteOptions* RouteTable::sse_route_for_channel(std::string_view channel) const {
    for (const CompiledRoute& cr : routes_) {
        if (cr.route->sse && cr.channel && cr.channel->fits(channel))
            return &*cr.route->sse;
    }
    return nullptr;
}

}  // namespace sluice::router
