// The `routes` list: each route's match (path template or prefix), its one handler
// (sse, poll, proxy or static) and the checks that tie them together: channel
// placeholders must be path captures, proxy upstreams must exist.
#include <algorithm>
#include <array>

#include "gateway/config/loaders.h"
#include "gateway/config/templates.h"

namespace sluice::config {
namespace {

// What a handler needs to know about the route it belongs to.
struct RouteContext {
    const Defaults& defaults;
    const std::map<std::string, Upstream>& upstreams;
    bool is_prefix = false;
    bool captures_known = false;  // false when the path itself was bad: skip the check
    std::vector<std::string> captures;
};

void load_channel(const Value& v, Diagnostics& diag, const RouteContext& ctx, std::string& out) {
    auto text = read_string(v, diag);
    if (!text) return;
    std::vector<std::string> names;
    if (std::string err = check_channel_template(*text, names); !err.empty()) {
        diag.error(v.mark, v.path + ": " + err);
        return;
    }
    bool ok = true;
    if (ctx.captures_known) {
        for (const auto& name : names) {
            if (std::find(ctx.captures.begin(), ctx.captures.end(), name) != ctx.captures.end())
                continue;
            std::string why = ctx.is_prefix ? "a prefix route has no captures (use 'path')"
                                            : "the path has no {" + name + "}";
            diag.error(v.mark, v.path + ": channel uses {" + name + "} but " + why);
            ok = false;
        }
    }
    if (ok) out = *text;
}

void load_sse(const Value& v, Diagnostics& diag, const RouteContext& ctx, SseRoute& out) {
    out.heartbeat = ctx.defaults.heartbeat;
    out.history = ctx.defaults.history;
    out.retry = ctx.defaults.retry;
    MapReader r(v, diag);
    if (r.require("channel")) load_channel(*r.find("channel"), diag, ctx, out.channel);
    if (auto hb = r.find("heartbeat")) load_heartbeat(*hb, diag, out.heartbeat);
    if (auto history = r.find("history")) load_history(*history, diag, out.history);
    r.get_string_list("terminal", out.terminal);
    std::string choice;
    if (r.get_choice("start", choice, {"earliest", "latest"}) && !choice.empty())
        out.start = choice == "latest" ? StartMode::Latest : StartMode::Earliest;
    r.get_duration("retry", out.retry);
    choice.clear();
    if (r.get_choice("on_broker_down", choice, {"hold", "pending"}) && !choice.empty())
        out.on_broker_down = choice == "pending" ? BrokerDownPolicy::Pending
                                                 : BrokerDownPolicy::Hold;
    r.finish();
}

void load_poll(const Value& v, Diagnostics& diag, const RouteContext& ctx, PollRoute& out) {
    MapReader r(v, diag);
    if (r.require("channel")) load_channel(*r.find("channel"), diag, ctx, out.channel);
    r.get_string_list("terminal", out.terminal);
    r.get_duration("max_wait", out.max_wait);
    r.get_count("max_events", out.max_events, 1, UINT64_MAX);
    r.finish();
}

// `host`: pass | rewrite | a fixed "name" or "name:port".
void load_host(const Value& v, Diagnostics& diag, ProxyRoute& out) {
    auto text = read_string(v, diag);
    if (!text) return;
    if (*text == "pass") {
        out.host = HostMode::Pass;
        return;
    }
    if (*text == "rewrite") {
        out.host = HostMode::Rewrite;
        return;
    }
    bool ok = !text->empty() && text->size() <= 255;
    for (char c : *text) {
        bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == ':' || c == '[' || c == ']' || c == '_';
        ok = ok && allowed;
    }
    if (!ok) {
        diag.error(v.mark, v.path + ": expected pass, rewrite or a host name like "
                                    "api.internal:8080, got '" + *text + "'");
        return;
    }
    out.host = HostMode::Fixed;
    out.host_value = *text;
}

void load_proxy(const Value& v, Diagnostics& diag, const RouteContext& ctx, ProxyRoute& out) {
    MapReader r(v, diag);
    if (r.require("upstream")) {
        auto up = r.find("upstream");
        if (auto name = read_string(*up, diag)) {
            if (ctx.upstreams.count(*name) == 0) {
                diag.error(up->mark, up->path + ": unknown upstream '" + *name +
                                         "' (define it under upstreams)");
            } else {
                out.upstream = *name;
            }
        }
    }
    if (auto host = r.find("host")) load_host(*host, diag, out);
    if (auto hb = r.find("heartbeat")) {
        HeartbeatConfig heartbeat = ctx.defaults.heartbeat;
        load_heartbeat(*hb, diag, heartbeat);
        out.heartbeat = heartbeat;
    }
    // Absent keys leave the sentinel in place: the upstream's value then applies.
    constexpr Millis kUnset{-1};
    Millis t = kUnset;
    if (r.get_duration("connect_timeout", t, Millis(1)) && t != kUnset) out.connect_timeout = t;
    t = kUnset;
    if (r.get_duration("read_timeout", t, Millis(1)) && t != kUnset) out.read_timeout = t;
    r.finish();
}

void load_static(const Value& v, Diagnostics& diag, StaticRoute& out) {
    MapReader r(v, diag);
    if (r.require("root")) r.get_string("root", out.root);
    if (auto index = r.find("index")) {
        auto name = read_string(*index, diag);
        if (name && (name->empty() || name->find('/') != std::string::npos)) {
            diag.error(index->mark, index->path + ": must be a file name, got '" + *name + "'");
        } else if (name) {
            out.index = *name;
        }
    }
    r.finish();
}

// Reads path / prefix into `out` and fills in what handlers need to know about captures.
void load_match(MapReader& r, Diagnostics& diag, Route& out, RouteContext& ctx) {
    auto path = r.find("path");
    auto prefix = r.find("prefix");
    if (path && prefix) {
        bool path_first = r.key_mark("path").pos < r.key_mark("prefix").pos;
        diag.error(r.key_mark(path_first ? "prefix" : "path"),
                   r.where() + ": has both 'path' and 'prefix'; a route matches by one of them");
        return;  // captures stay unknown: no placeholder errors on top of this one
    }
    if (!path && !prefix) {
        if (r.is_map()) diag.error(r.mark(), r.where() + ": needs 'path' or 'prefix'");
        return;
    }
    const Value& v = path ? *path : *prefix;
    auto text = read_string(v, diag);
    if (!text) return;
    std::string err = path ? check_path_template(*text, ctx.captures) : check_prefix(*text);
    if (!err.empty()) {
        diag.error(v.mark, v.path + ": " + err);
        return;
    }
    (path ? out.path : out.prefix) = *text;
    ctx.is_prefix = !path;
    ctx.captures_known = true;
}

void load_route(const Value& v, Diagnostics& diag, RouteContext ctx, Route& out) {
    out.line = v.mark.line + 1;
    MapReader r(v, diag);
    load_match(r, diag, out, ctx);

    // Collect the handlers in file order: the first one counts, later ones are errors.
    static constexpr std::array<std::string_view, 4> kHandlers{"sse", "poll", "proxy", "static"};
    std::vector<std::pair<std::string_view, Value>> handlers;
    for (auto name : kHandlers) {
        if (auto h = r.find(name)) handlers.emplace_back(name, *h);
    }
    std::sort(handlers.begin(), handlers.end(), [&](const auto& a, const auto& b) {
        return r.key_mark(a.first).pos < r.key_mark(b.first).pos;
    });
    if (handlers.empty() && r.is_map()) {
        diag.error(r.mark(), r.where() + ": needs a handler: one of sse, poll, proxy or static");
    }
    for (size_t i = 1; i < handlers.size(); ++i) {
        diag.error(r.key_mark(handlers[i].first),
                   r.where() + ": has both '" + std::string(handlers[0].first) + "' and '" +
                       std::string(handlers[i].first) + "'; a route has exactly one handler");
    }
    // Every handler present is still read, so its own mistakes are reported too; only
    // the first is kept.
    for (size_t i = 0; i < handlers.size(); ++i) {
        const auto& [name, hv] = handlers[i];
        bool keep = i == 0;
        if (name == "sse") {
            SseRoute sse;
            load_sse(hv, diag, ctx, sse);
            if (keep) out.sse = std::move(sse);
            if (keep) out.kind = RouteKind::Sse;
        } else if (name == "poll") {
            PollRoute poll;
            load_poll(hv, diag, ctx, poll);
            if (keep) out.poll = std::move(poll);
            if (keep) out.kind = RouteKind::Poll;
        } else if (name == "proxy") {
            ProxyRoute proxy;
            load_proxy(hv, diag, ctx, proxy);
            if (keep) out.proxy = std::move(proxy);
            if (keep) out.kind = RouteKind::Proxy;
        } else {
            StaticRoute files;
            load_static(hv, diag, files);
            if (keep) out.static_files = std::move(files);
            if (keep) out.kind = RouteKind::Static;
        }
    }
    r.finish();
}

}  // namespace

namespace {

// A path template with its capture names blanked: /a/{id} and /a/{x} match the same paths.
std::string template_shape(const std::string& path) {
    std::string out;
    bool in_capture = false;
    for (char c : path) {
        if (c == '{') in_capture = true;
        if (!in_capture) out += c;
        if (c == '}') {
            in_capture = false;
            out += "{}";
        }
    }
    return out;
}

// True when every request `later` could match is matched by `earlier` first (routes are
// tried in file order, and a wrong method on the first match is a 405, not the next route).
bool shadows(const Route& earlier, const Route& later) {
    if (!earlier.prefix.empty()) {
        // Whatever later matches begins with its literal text up to the first capture.
        const std::string& text = later.prefix.empty() ? later.path : later.prefix;
        std::string literal = text.substr(0, text.find('{'));
        return literal.compare(0, earlier.prefix.size(), earlier.prefix) == 0;
    }
    return !later.path.empty() && template_shape(earlier.path) == template_shape(later.path);
}

// A route that can never match is a mistake (nginx refuses a duplicate location too).
void report_shadowed(const Value& item, const Route& route, const std::vector<Route>& earlier,
                     Diagnostics& diag) {
    if (route.path.empty() && route.prefix.empty()) return;  // already reported
    for (size_t i = 0; i < earlier.size(); ++i) {
        if (!shadows(earlier[i], route)) continue;
        const char* key = route.path.empty() ? "prefix" : "path";
        YAML::Node at = item.node.IsMap() ? item.node[key] : YAML::Node();
        diag.error(at ? at.Mark() : item.mark,
                   item.path + "." + key + ": this route can never match: routes[" +
                       std::to_string(i) + "] (line " + std::to_string(earlier[i].line) +
                       ") matches every request it would");
        return;
    }
}

}  // namespace

void load_routes(const Value& v, Diagnostics& diag, const Defaults& defaults,
                 const std::map<std::string, Upstream>& upstreams, std::vector<Route>& out) {
    for (const auto& item : read_list(v, "routes", diag)) {
        Route route;
        load_route(item, diag, RouteContext{defaults, upstreams, false, false, {}}, route);
        report_shadowed(item, route, out, diag);
        out.push_back(std::move(route));
    }
}

}  // namespace sluice::config
