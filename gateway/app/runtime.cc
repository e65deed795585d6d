#include "gateway/app/runtime.h"

#include "gateway/admin/plugin_decisions.h"
#include "gateway/app/dispatch.h"
#include "gateway/app/publish_auth.h"
#include "gateway/app/request_params.h"
#include "plugins/registry.h"

#include <algorithm>

namespace sluice::app {
namespace {

// The channel an authenticating plugin checks is the one the handler will serve: the same
// matching and template expansion (channel_for), done again for routes with such plugins.
// The route and the template live in the Runtime, as long as the filters that call this.
plugins::ChannelOf route_channel_of(const router::CompiledRoute& route) {
    if (!route.channel) return nullptr;
    return [&route](const http::RequestHead& head) -> std::optional<std::string> {
        router::Match m;
        m.route = &route;
        if (route.path && !route.path->match(head.path, m.captures)) return std::nullopt;
        ParamError err;
        return channel_for(m, &err);
    };
}

plugins::ChannelOf publish_channel_of(const router::PathTemplate& path) {
    return [&path](const http::RequestHead& head) -> std::optional<std::string> {
        router::Captures caps;
        if (!path.match(head.path, caps)) return std::nullopt;
        return publish_channel(caps);
    };
}

}  // namespace

RuntimePtr build_runtime(config::ConfigPtr cfg, uint64_t generation, std::string* error) {
    auto table = router::RouteTable::build(cfg->routes, error);
    if (!table) return nullptr;
    auto rt = std::make_shared<Runtime>();
    rt->routes = std::move(*table);
    if (cfg->publish) {
        rt->publish_path = router::PathTemplate::parse(cfg->publish->path, error);
        if (!rt->publish_path) return nullptr;
    }
    // Each route's plugins, in order; a route without any gets an empty chain, so its
    // requests go straight to its handler. The filters are new on every build: a reload
    // starts them afresh, and a request keeps the chain of the Runtime it started with.
    const plugins::Registry& registry = plugins::builtin_registry();
    rt->route_filters.resize(rt->routes.routes().size());
    for (size_t i = 0; i < cfg->routes.size() && i < rt->route_filters.size(); ++i) {
        const router::Route& route = cfg->routes[i];
        plugins::BuildContext ctx{route.label(), false, &rt->routes.routes()[i],
                                  route_channel_of(rt->routes.routes()[i]),
                                  &admin::plugin_decisions()};
        std::string why;
        if (!registry.build_chain(route.plugins, ctx, rt->route_filters[i], why)) {
            if (error) *error = "routes[" + std::to_string(i) + "] plugin " + why;
            return nullptr;
        }
    }
    // The publish token first: plugins see only requests that carry it.
    if (cfg->publish) {
        if (!cfg->publish->token.empty())
            rt->publish_filters.add(std::make_shared<PublishTokenFilter>(cfg->publish->token));
        plugins::BuildContext ctx{cfg->publish->path, true, nullptr, publish_channel_of(*rt->publish_path),
                                  &admin::plugin_decisions()};
        std::string why;
        if (!registry.build_chain(cfg->publish->plugins, ctx, rt->publish_filters, why)) {
            if (error) *error = "publish plugin " + why;
            return nullptr;
        }
    }
    rt->config = std::move(cfg);
    rt->generation = generation;
    return rt;
}

namespace {

// As configured, except that a head never goes before its events: positions_ttl is
// taken as at least ttl.
history::HistoryLimits effective(history::HistoryLimits l) {
    l.positions_ttl = std::max(l.ttl, l.positions_ttl);
    return l;
}

}  // namespace

std::function<std::chrono::milliseconds(const std::string&)> positions_ttl_fn(RuntimePtr rt) {
    return [rt = std::move(rt)](const std::string& channel) {
        return history_limits_for(*rt, channel).positions_ttl;
    };
}

std::function<history::HistoryLimits(const std::string&)> history_limits_fn(RuntimePtr rt) {
    return [rt = std::move(rt)](const std::string& channel) { return history_limits_for(*rt, channel); };
}

history::HistoryLimits history_limits_for(const Runtime& rt, const std::string& channel) {
    if (const sse::SseRouteOptions* r = rt.routes.sse_route_for_channel(channel)) {
        return effective(r->history);
    }
    return effective(rt.config->defaults.history);
}

}  // namespace sluice::app
