// The standard process_* series (the names every Prometheus client library exports),
// read from /proc at scrape time.
#pragma once

#include <cstdint>
#include <optional>

namespace sluice::admin {

struct ProcessStats {
    double cpu_seconds = 0; // user + system
    uint64_t resident_bytes = 0;
    uint64_t virtual_bytes = 0;
    uint64_t open_fds = 0;
    uint64_t max_fds = 0;          // the soft RLIMIT_NOFILE
    double start_time_seconds = 0; // since the Unix epoch
};

// nullopt where /proc is not there to read (the series are then left out).
std::optional<ProcessStats> read_process_stats();

} // namespace sluice::admin
