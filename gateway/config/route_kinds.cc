// The route kinds: each one's YAML key, methods and options loader, in one table
// (kRouteKinds at the end). Options start from `defaults` where a kind has any; channel
// placeholders must be path captures; proxy upstreams must exist.
#include "gateway/config/route_kinds.h"

#include <algorithm>

#include "gateway/config/templates.h"
#include "gateway/core/ascii.h"

namespace sluice::config {
namespace {

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

void load_sse_options(const Value& v, Diagnostics& diag, const RouteContext& ctx,
                      sse::SseRouteOptions& out) {
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
        out.start = choice == "latest" ? sse::Start::Latest : sse::Start::Earliest;
    r.get_duration("retry", out.retry);
    choice.clear();
    if (r.get_choice("on_broker_down", choice, {"hold", "pending"}) && !choice.empty())
        out.on_broker_down = choice == "pending" ? sse::BrokerDownPolicy::Pending
                                                 : sse::BrokerDownPolicy::Hold;
    r.finish();
}

void load_poll_options(const Value& v, Diagnostics& diag, const RouteContext& ctx,
                       sse::PollRouteOptions& out) {
    MapReader r(v, diag);
    if (r.require("channel")) load_channel(*r.find("channel"), diag, ctx, out.channel);
    r.get_string_list("terminal", out.terminal);
    r.get_duration("max_wait", out.max_wait);
    r.get_count("max_events", out.max_events, 1, UINT64_MAX);
    r.finish();
}

// `host`: pass | rewrite | a fixed "name" or "name:port".
void load_host(const Value& v, Diagnostics& diag, proxy::RouteOptions& out) {
    auto text = read_string(v, diag);
    if (!text) return;
    if (*text == "pass") {
        out.host = proxy::HostMode::Pass;
        return;
    }
    if (*text == "rewrite") {
        out.host = proxy::HostMode::Rewrite;
        return;
    }
    bool ok = !text->empty() && text->size() <= 255;
    for (char c : *text) {
        bool allowed = ascii_is_alnum(c) || c == '-' || c == '.' || c == ':' || c == '[' ||
                       c == ']' || c == '_';
        ok = ok && allowed;
    }
    if (!ok) {
        diag.error(v.mark, v.path + ": expected pass, rewrite or a host name like "
                                    "api.internal:8080, got '" + *text + "'");
        return;
    }
    out.host = proxy::HostMode::Fixed;
    out.host_value = *text;
}

void load_proxy_options(const Value& v, Diagnostics& diag, const RouteContext& ctx,
                        proxy::RouteOptions& out) {
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
        sse::HeartbeatOptions heartbeat = ctx.defaults.heartbeat;
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

void load_static_options(const Value& v, Diagnostics& diag, files::StaticOptions& out) {
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

// The table's loaders: each reads one kind's options into its member of the route.
void load_sse(const Value& v, Diagnostics& diag, const RouteContext& ctx, router::Route& out) {
    load_sse_options(v, diag, ctx, out.sse.emplace());
}

void load_poll(const Value& v, Diagnostics& diag, const RouteContext& ctx, router::Route& out) {
    load_poll_options(v, diag, ctx, out.poll.emplace());
}

void load_proxy(const Value& v, Diagnostics& diag, const RouteContext& ctx, router::Route& out) {
    load_proxy_options(v, diag, ctx, out.proxy.emplace());
}

void load_static(const Value& v, Diagnostics& diag, const RouteContext&, router::Route& out) {
    load_static_options(v, diag, out.static_files.emplace());
}

}  // namespace

std::span<const RouteKindEntry> route_kinds() {
    // A proxy route passes every method on to its upstream.
    static const RouteKindEntry kRouteKinds[] = {
        {"sse", router::RouteKind::Sse, {"GET", "HEAD"}, &load_sse},
        {"poll", router::RouteKind::Poll, {"GET", "HEAD"}, &load_poll},
        {"proxy", router::RouteKind::Proxy, {}, &load_proxy},
        {"static", router::RouteKind::Static, {"GET", "HEAD"}, &load_static},
    };
    return kRouteKinds;
}

std::string route_kind_names() {
    auto kinds = route_kinds();
    std::string out;
    for (size_t i = 0; i < kinds.size(); ++i) {
        if (i > 0) out += i + 1 == kinds.size() ? " or " : ", ";
        out += kinds[i].key;
    }
    return out;
}

}  // namespace sluice::config
