// Counters that third-party plugins increment through their host table
// (plugins/include/sluice/plugin.h: host->count), exported as
// sluice_plugin_counter_total{plugin, counter}. Process-wide, any thread, bounded: at most
// kMaxSeries (plugin, counter) pairs are kept; increments of further names are dropped
// (and add() says so, for the caller's one warning).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace sluice::admin {

class PluginCounters {
  public:
    static constexpr size_t kMaxSeries = 1000;

    // False when the series is new and there is no room for it.
    bool add(const std::string& plugin, const std::string& counter, uint64_t n);
    std::map<std::pair<std::string, std::string>, uint64_t> snapshot() const;

  private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, uint64_t> counts_;
};

PluginCounters& plugin_counters();

}  // namespace sluice::admin
