#include "gateway/app/runtime.h"

#include "gateway/app/publish_auth.h"

#include <algorithm>

namespace sluice::app {

RuntimePtr build_runtime(config::ConfigPtr cfg, uint64_t generation, std::string* error) {
    auto table = router::RouteTable::build(*cfg, error);
    if (!table) return nullptr;
    auto rt = std::make_shared<Runtime>();
    rt->routes = std::move(*table);
    if (cfg->publish) {
        rt->publish_path = router::PathTemplate::parse(cfg->publish->path, error);
        if (!rt->publish_path) return nullptr;
    }
    // The built-in filters. Routes have none yet (plugins will add theirs here), so their
    // requests go straight to their handlers.
    rt->route_filters.resize(rt->routes.routes().size());
    if (cfg->publish)
        rt->publish_filters.add(std::make_shared<PublishTokenFilter>(cfg->publish->token));
    rt->config = std::move(cfg);
    rt->generation = generation;
    return rt;
}

history::HistoryLimits to_limits(const config::HistoryConfig& h) {
    history::HistoryLimits l;
    l.max_events = h.size;
    l.max_bytes = h.max_bytes;
    l.ttl = h.ttl;
    l.positions_ttl = std::max(h.ttl, h.positions_ttl);  // a head never goes before its events
    return l;
}

std::function<std::chrono::milliseconds(const std::string&)> positions_ttl_fn(RuntimePtr rt) {
    return [rt = std::move(rt)](const std::string& channel) {
        return history_limits_for(*rt, channel).positions_ttl;
    };
}

history::HistoryLimits history_limits_for(const Runtime& rt, const std::string& channel) {
    if (const config::SseRoute* r = rt.routes.sse_route_for_channel(channel)) {
        return to_limits(r->history);
    }
    return to_limits(rt.config->defaults.history);
}

}  // namespace sluice::app
