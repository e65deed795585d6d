// Metric cells: each worker owns a WorkerMetrics and is its only writer (relaxed atomics,
// no read-modify-write contention); a scrape on any worker sums all of them. What is
// exported, under which name, is declared once in metric_catalog.cc (docs/operations.md
// lists every series).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/admin/plugin_decisions.h"
#include "gateway/broker/counters.h"

namespace sluice::admin {

// A counter or gauge written by one thread and read by any.
class Cell {
  public:
    void add(int64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
    int64_t get() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<int64_t> v_{0};
};

// Request count and latency histogram per (route, status).
class RouteStats {
  public:
    static constexpr double kBuckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,   1,    2.5,   5,    10};
    static constexpr size_t kBucketCount = sizeof(kBuckets) / sizeof(kBuckets[0]);

    void record(std::string_view route, int status, double seconds);

    struct Latency {
        uint64_t buckets[kBucketCount + 1] = {};  // last = +Inf
        double sum = 0;
        uint64_t count = 0;
    };
    // Copies out under the lock, so a scrape never sees a half-written entry.
    void snapshot(std::map<std::pair<std::string, int>, uint64_t>& requests,
                  std::map<std::string, Latency>& latency) const;

  private:
    struct Entry {
        std::map<int, uint64_t> by_status;
        Latency latency;
    };
    mutable std::mutex mutex_;  // uncontended: one writer thread, rare scrapes
    // std::less<> finds a route by string_view: no allocation per request.
    std::map<std::string, Entry, std::less<>> routes_;
};

// Upstream requests (proxy routes) per upstream: attempts sent to a server, failures by
// reason and retries. Keys are (upstream, series): "requests", "retries" or a failure
// reason such as "connect_failed".
class UpstreamStats {
  public:
    void count(const std::string& upstream, const std::string& series);
    void snapshot(std::map<std::pair<std::string, std::string>, uint64_t>& out) const;

  private:
    mutable std::mutex mutex_;  // uncontended: one writer thread, rare scrapes
    std::map<std::pair<std::string, std::string>, uint64_t> counts_;
};

// TLS handshakes on client listeners, counted by the connection layer. Failure reasons
// are tls::FailureReason's labels in its order (tls/failure.h; admin does not depend on
// tls), then "timeout": the handshake did not finish within limits.header_timeout.
struct TlsStats {
    static constexpr std::array<std::string_view, 2> kVersions{"TLSv1.2", "TLSv1.3"};
    static constexpr std::array<std::string_view, 8> kFailureReasons{
        "not_tls",         "protocol_version",        "no_shared_cipher", "unknown_ca",
        "bad_certificate", "no_application_protocol", "other",            "timeout"};
    // Index of a label in kVersions / kFailureReasons; the last entry when unknown.
    static size_t version_index(std::string_view version);
    static size_t failure_index(std::string_view reason);

    std::array<Cell, kVersions.size()> handshakes;
    Cell resumed;  // handshakes that resumed a session (ticket)
    std::array<Cell, kFailureReasons.size()> failures;
};

// HTTP/2 connections and streams (app/h2_session). Reset reasons: why sluice sent
// RST_STREAM ("slow": an SSE stream over client_buffer; "stalled": a stream whose flow-
// control window stayed at zero; "cancel": the answer was abandoned; "error"), or
// "client": the client reset the stream. GOAWAY reasons: "drain", "idle", "rapid_reset",
// "stalled" (the connection window stayed at zero), "protocol" (nghttp2 found the client
// broke the protocol or a flood limit).
struct H2Stats {
    static constexpr std::array<std::string_view, 5> kResetReasons{"slow", "stalled", "cancel", "error",
                                                                   "client"};
    static constexpr std::array<std::string_view, 5> kGoawayReasons{"drain", "idle", "rapid_reset",
                                                                    "stalled", "protocol"};
    static size_t reset_index(std::string_view reason);
    static size_t goaway_index(std::string_view reason);

    Cell connections_open;
    Cell connections_total;
    Cell streams_open;
    Cell streams_total;
    std::array<Cell, kResetReasons.size()> resets;
    std::array<Cell, kGoawayReasons.size()> goaways;
};

struct WorkerMetrics {
    Cell connections_open;
    Cell connections_total;
    Cell sse_streams_open;
    Cell sse_streams_total;
    Cell poll_waiting;
    Cell events_published;   // accepted by the publish endpoint on this worker
    Cell events_delivered;   // written to SSE clients
    Cell sent_bytes;         // SSE event bytes written to clients
    Cell slow_disconnects;
    Cell gaps;
    Cell channels;  // channel objects this loop holds (one per channel it has readers of)
    Cell rejected_connections;
    Cell io_uring_sends;  // socket writes sent in io_uring batches (the io_uring switch)
    RouteStats routes;
    UpstreamStats upstreams;
    TlsStats tls;
    H2Stats h2;
};

// Everything a scrape reports besides the per-worker cells.
struct GlobalState {
    const broker::BrokerCounters* broker = nullptr;
    bool broker_up = true;
    const char* broker_kind = "memory";
    uint64_t reloads = 0;
    uint64_t reload_failures = 0;
    uint64_t channels_stored = 0;        // channels holding events (limits.max_channels)
    uint64_t dropped_max_channels = 0;   // Redis events dropped at limits.max_channels
    uint64_t events_received = 0;        // events the hub passed to the loops, each once
    // The process's shared history (held once, whatever the number of loops).
    uint64_t history_bytes = 0;
    uint64_t history_evicted = 0;                // by count, bytes or TTL
    uint64_t history_budget_evicted_idle = 0;    // events: whole histories of idle channels
    uint64_t history_budget_evicted_oldest = 0;  // events: oldest events of read channels
    const PluginDecisions* plugin_decisions = nullptr;  // nullptr: no series
};

// The scrape: every series of metric_catalog(), with process_* read from /proc now.
std::string render_prometheus(const std::vector<const WorkerMetrics*>& workers,
                              const GlobalState& global);

}  // namespace sluice::admin
