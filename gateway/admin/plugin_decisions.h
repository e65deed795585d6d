// What the plugins that admit or refuse requests (jwt, api_key) decided, counted per
// (plugin, route, decision) for sluice_plugin_decisions_total. One table for the process,
// shared by every loop: a filter takes its counters once, when it is built (under the
// lock), and afterwards only increments them, so a request takes no lock. Entries are
// never removed, so a reload that builds new filters for a route keeps counting on.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace sluice::admin {

class PluginDecisions {
  public:
    // The counter of one series; the reference stays valid as long as the table lives.
    std::atomic<uint64_t>& counter(std::string_view plugin, std::string_view route,
                                   std::string_view decision);

    struct Sample {
        std::string plugin, route, decision;
        uint64_t count = 0;
    };
    // Every series, sorted by (plugin, route, decision).
    std::vector<Sample> snapshot() const;

  private:
    mutable std::mutex mutex_;  // taken when a filter is built and when a scrape reads
    std::map<std::tuple<std::string, std::string, std::string>, std::atomic<uint64_t>> counts_;
};

// The process's table (what runtime.cc hands to the filters and a scrape reads).
PluginDecisions& plugin_decisions();

}  // namespace sluice::admin
