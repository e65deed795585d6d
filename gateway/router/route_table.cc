// Route table: compiles config routes once, then answers (method, path) lookups in file
// order. Lookups are linear; route lists are short and the first match must win anyway.
#include "gateway/router/route_table.h"

#include <algorithm>

namespace sluice::router {

namespace {

std::string route_where(const config::Route& r) {
    return "route " + r.label() + " (line " + std::to_string(r.line) + "): ";
}

// The channel template text of an sse / poll route; nullptr if the kind's settings block
// is missing (config validation normally rejects that first).
const std::string* channel_of(const config::Route& r) {
    if (r.kind == config::RouteKind::Sse) return r.sse ? &r.sse->channel : nullptr;
    if (r.kind == config::RouteKind::Poll) return r.poll ? &r.poll->channel : nullptr;
    return nullptr;
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

std::optional<RouteTable> RouteTable::build(const config::Config& cfg, std::string* error) {
    auto fail = [&](std::string msg) -> std::optional<RouteTable> {
        if (error) *error = std::move(msg);
        return std::nullopt;
    };
    RouteTable table;
    table.routes_.reserve(cfg.routes.size());
    for (const config::Route& r : cfg.routes) {
        CompiledRoute cr;
        cr.route = &r;
        if (r.path.empty() == r.prefix.empty())
            return fail(route_where(r) + "exactly one of path and prefix must be set");
        if (!r.path.empty()) {
            std::string err;
            cr.path = PathTemplate::parse(r.path, &err);
            if (!cr.path) return fail(route_where(r) + err);
        }
        switch (r.kind) {
        case config::RouteKind::Sse:
        case config::RouteKind::Poll: {
            const std::string* ch = channel_of(r);
            if (!ch) return fail(route_where(r) + "missing channel settings");
            std::string err;
            cr.channel = ChannelTemplate::parse(*ch, &err);
            if (!cr.channel) return fail(route_where(r) + err);
            cr.methods = {"GET", "HEAD"};
            break;
        }
        case config::RouteKind::Static:
            cr.methods = {"GET", "HEAD"};
            break;
        case config::RouteKind::Proxy:
            break;  // empty = every method
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
        bool allowed = cr.methods.empty() ||
                       std::find(cr.methods.begin(), cr.methods.end(), method) != cr.methods.end();
        if (allowed) {
            m.kind = Match::Kind::Found;
        } else {
            m.kind = Match::Kind::MethodNotAllowed;
            m.allow = join(cr.methods, ", ");
        }
        return m;
    }
    return m;  // PathTemplate::match leaves captures empty when it fails
}

const config::SseRoute* RouteTable::sse_route_for_channel(std::string_view channel) const {
    for (const CompiledRoute& cr : routes_) {
        if (cr.route->kind == config::RouteKind::Sse && cr.channel && cr.channel->fits(channel))
            return &*cr.route->sse;
    }
    return nullptr;
}

}  // namespace sluice::router
