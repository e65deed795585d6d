// The results of one run and their two renderings: a single JSON line (stdout, for scripts
// and CI) and a readable multi-line summary (stderr). Also decides whether the run was clean,
// which sets the exit status. Pure; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/sluice_bench/histogram.h"

namespace sluice::bench {

struct SubscriberResults {
    uint64_t connections = 0;  // requested
    uint64_t connected = 0;    // reached a 200 event stream at least once
    uint64_t failed = 0;       // attempts that never reached a 200 stream (connect error, status)
    uint64_t ended = 0;        // answered 204 (channel ended): no reconnect
    uint64_t disconnects = 0;  // streams the server closed during the run
    uint64_t reconnects = 0;   // successful reconnections after such a close (not the storm)
    uint64_t open_at_end = 0;
    uint64_t received = 0;     // bench events of this run
    uint64_t replayed = 0;     // ...of which published before the stream (re)connected
    uint64_t lost = 0;
    uint64_t duplicated = 0;
    uint64_t reordered = 0;
    uint64_t gaps = 0;          // "event: gap" notices
    uint64_t other_events = 0;  // events that are not bench payloads (e.g. data heartbeats)
    uint64_t foreign = 0;       // bench payloads of another run (left in history)
    uint64_t comments = 0;      // comment lines, e.g. ": heartbeat"
    uint64_t stalled = 0;         // --stalled-fraction connections that went live and stopped
    std::string first_error;
    Histogram latency_us;  // publish -> receive, live events only
    Histogram connect_us;  // connect start -> response head

    bool storm = false;
    double storm_at_s = 0;
    uint64_t storm_dropped = 0;
    uint64_t storm_reconnected = 0;
    uint64_t storm_failed = 0;
    double storm_ms = 0;  // storm start -> last stream back
};

struct PublisherResults {
    std::string mode = "none";
    uint64_t published = 0;  // handed to the transport
    uint64_t acked = 0;      // answered with success
    uint64_t errors = 0;
    double rate_per_s = 0;   // achieved: published / publishing time
    std::string first_error;
};

struct Report {
    std::string run_id;  // the "run" field of this run's payloads
    int64_t start_unix_ms = 0;  // wall clock at the start, to line up with outside samplers
    double settled_s = -1;      // every connection attempted and answered (-1: never)
    double publish_start_s = -1;
    double publish_end_s = -1;  // the schedule stopped (-1: never started)
    double cpu_user_s = 0;      // the bench process itself
    double cpu_sys_s = 0;
    std::string url;
    uint32_t channels = 0;
    double duration_s = 0;
    double elapsed_s = 0;
    bool interrupted = false;
    uint64_t nofile_limit = 0;
    double target_rate_per_s = 0;
    uint64_t target_events = 0;
    uint64_t size = 0;
    SubscriberResults sub;
    PublisherResults pub;
};

// True when nothing went wrong: no failed connections, publish errors, lost, duplicated or
// reordered events, storm failures, and (when publishing to subscribers) something arrived.
bool report_clean(const Report& r);

std::string to_json_line(const Report& r);  // ends with '\n'
std::string to_summary(const Report& r);

// JSON string literal for `s`, quotes included.
std::string json_quote(std::string_view s);

}  // namespace sluice::bench
