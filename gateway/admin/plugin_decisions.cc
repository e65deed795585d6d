#include "gateway/admin/plugin_decisions.h"

namespace sluice::admin {

std::atomic<uint64_t>& PluginDecisions::counter(std::string_view plugin, std::string_view route,
                                                std::string_view decision) {
    std::lock_guard<std::mutex> lock(mutex_);
    // std::map nodes never move: the reference outlives later insertions.
    return counts_[{std::string(plugin), std::string(route), std::string(decision)}];
}

std::vector<PluginDecisions::Sample> PluginDecisions::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Sample> out;
    out.reserve(counts_.size());
    for (const auto& [key, n] : counts_)
        out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key),
                       n.load(std::memory_order_relaxed)});
    return out;
}

PluginDecisions& plugin_decisions() {
    static PluginDecisions table;
    return table;
}

}  // namespace sluice::admin
