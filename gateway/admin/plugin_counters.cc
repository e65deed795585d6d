#include "gateway/admin/plugin_counters.h"

namespace sluice::admin {

bool PluginCounters::add(const std::string& plugin, const std::string& counter, uint64_t n) {
    std::lock_guard lock(mutex_);
    auto key = std::make_pair(plugin, counter);
    auto it = counts_.find(key);
    if (it == counts_.end()) {
        if (counts_.size() >= kMaxSeries) return false;
        it = counts_.emplace(std::move(key), 0).first;
    }
    it->second += n;
    return true;
}

std::map<std::pair<std::string, std::string>, uint64_t> PluginCounters::snapshot() const {
    std::lock_guard lock(mutex_);
    return counts_;
}

PluginCounters& plugin_counters() {
    static PluginCounters counters;
    return counters;
}

}  // namespace sluice::admin
