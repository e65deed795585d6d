// The config as workers use it: the validated Config plus what is compiled from it
// (route table, publish path template). Immutable and shared; a reload builds a new
// one, and requests or streams that started earlier keep theirs alive.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/config/config.h"
#include "gateway/history/channel_history.h"
#include "gateway/pipeline/filter.h"
#include "gateway/router/path_template.h"
#include "gateway/router/route_table.h"

namespace sluice::app {

struct Runtime {
    config::ConfigPtr config;
    router::RouteTable routes;
    std::optional<router::PathTemplate> publish_path;
    // Each route's filter chain (by its index in `routes`), and the publish endpoint's.
    std::vector<pipeline::FilterChain> route_filters;
    pipeline::FilterChain publish_filters;
    uint64_t generation = 0;
};

using RuntimePtr = std::shared_ptr<const Runtime>;

// Compiles a loaded config. nullptr + error only if a template the config loader
// accepted fails to compile (a bug, reported rather than crashing).
RuntimePtr build_runtime(config::ConfigPtr cfg, uint64_t generation, std::string* error);

// History limits for a channel: from the first sse route whose channel fits it, else
// the config defaults.
history::HistoryLimits history_limits_for(const Runtime& rt, const std::string& channel);

// Each channel's history.positions_ttl under rt, for the process-wide head table.
// Thread-safe: it only reads the immutable runtime it keeps alive.
std::function<std::chrono::milliseconds(const std::string&)> positions_ttl_fn(RuntimePtr rt);
// Each channel's history limits under rt, for the process's shared history (same terms).
std::function<history::HistoryLimits(const std::string&)> history_limits_fn(RuntimePtr rt);

}  // namespace sluice::app
