// The declarations of every exported series, in scrape order.
#include "gateway/admin/metric_catalog.h"

#include <map>

#include "gateway/admin/plugin_counters.h"

#include "core/version.h" // generated (gateway/CMakeLists.txt)

namespace sluice::admin {

namespace {

using C = MetricType;

// The sum of one per-worker cell over every worker loop.
template <Cell WorkerMetrics::*F> void summed(const ScrapeInput& in, SampleWriter& w) {
    int64_t total = 0;
    for (const WorkerMetrics* m : in.workers)
        total += (m->*F).get();
    w.sample(static_cast<double>(total));
}

template <broker::SharedCell broker::BrokerCounters::*F> void broker_cell(const ScrapeInput& in, SampleWriter& w) {
    w.sample(static_cast<double>((in.global.broker->*F).get()));
}

template <uint64_t GlobalState::*F> void global_value(const ScrapeInput& in, SampleWriter& w) {
    w.sample(static_cast<double>(in.global.*F));
}

bool with_redis(const ScrapeInput& in) {
    return in.global.broker != nullptr;
}
bool with_proc(const ScrapeInput& in) {
    return in.process.has_value();
}

template <auto ProcessStats::*F> void process_value(const ScrapeInput& in, SampleWriter& w) {
    w.sample(static_cast<double>((*in.process).*F));
}

void build_info(const ScrapeInput&, SampleWriter& w) {
    w.sample({kVersion, kGitCommit, kBuildType}, 1);
}

void history_evictions(const ScrapeInput& in, SampleWriter& w) {
    w.sample({"idle_channel"}, static_cast<double>(in.global.history_budget_evicted_idle));
    w.sample({"oldest_events"}, static_cast<double>(in.global.history_budget_evicted_oldest));
}

void events_dropped(const ScrapeInput& in, SampleWriter& w) {
    w.sample({"max_channels"}, static_cast<double>(in.global.dropped_max_channels));
}

void plugin_counter(const ScrapeInput&, SampleWriter& w) {
    for (const auto& [key, n] : plugin_counters().snapshot())
        w.sample({key.first, key.second}, static_cast<double>(n));
}

void worker_connections(const ScrapeInput& in, SampleWriter& w) {
    for (size_t i = 0; i < in.workers.size(); ++i)
        w.sample({std::to_string(i)}, static_cast<double>(in.workers[i]->connections_open.get()));
}

void broker_up(const ScrapeInput& in, SampleWriter& w) {
    w.sample({in.global.broker_kind}, in.global.broker_up ? 1 : 0);
}

void broker_messages(const ScrapeInput& in, SampleWriter& w) {
    const broker::BrokerCounters& b = *in.global.broker;
    w.sample({"plain"}, static_cast<double>(b.messages_plain.get()));
    w.sample({"sequenced"}, static_cast<double>(b.messages_sequenced.get()));
}

void broker_dropped(const ScrapeInput& in, SampleWriter& w) {
    const broker::BrokerCounters& b = *in.global.broker;
    w.sample({"too_large"}, static_cast<double>(b.dropped_too_large.get()));
    w.sample({"invalid_utf8"}, static_cast<double>(b.dropped_invalid_utf8.get()));
    w.sample({"nul"}, static_cast<double>(b.dropped_nul.get()));
    w.sample({"bad_envelope"}, static_cast<double>(b.dropped_bad_envelope.get()));
    w.sample({"bad_event_name"}, static_cast<double>(b.dropped_bad_event_name.get()));
}

void http_requests(const ScrapeInput& in, SampleWriter& w) {
    std::map<std::pair<std::string, int>, uint64_t> requests;
    std::map<std::string, RouteStats::Latency> latency;
    for (const WorkerMetrics* m : in.workers)
        m->routes.snapshot(requests, latency);
    for (const auto& [key, n] : requests)
        w.sample({key.first, std::to_string(key.second)}, static_cast<double>(n));
}

void http_durations(const ScrapeInput& in, SampleWriter& w) {
    std::map<std::pair<std::string, int>, uint64_t> requests;
    std::map<std::string, RouteStats::Latency> latency;
    for (const WorkerMetrics* m : in.workers)
        m->routes.snapshot(requests, latency);
    for (const auto& [route, l] : latency)
        w.histogram({route}, RouteStats::kBuckets, l.buckets, l.sum, l.count);
}

std::map<std::pair<std::string, std::string>, uint64_t> upstream_counts(const ScrapeInput& in) {
    std::map<std::pair<std::string, std::string>, uint64_t> out;
    for (const WorkerMetrics* m : in.workers)
        m->upstreams.snapshot(out);
    return out;
}

// UpstreamStats keys are (upstream, series): "requests", "retries" or a failure reason.
template <const char* Series> void upstream_series(const ScrapeInput& in, SampleWriter& w) {
    for (const auto& [key, n] : upstream_counts(in))
        if (key.second == Series) w.sample({key.first}, static_cast<double>(n));
}
constexpr char kRequests[] = "requests";
constexpr char kRetries[] = "retries";

void upstream_failures(const ScrapeInput& in, SampleWriter& w) {
    for (const auto& [key, n] : upstream_counts(in))
        if (key.second != kRequests && key.second != kRetries)
            w.sample({key.first, key.second}, static_cast<double>(n));
}

// Shared by every loop (a filter serves all of them): one table, not a sum over workers.
void plugin_decisions(const ScrapeInput& in, SampleWriter& w) {
    if (!in.global.plugin_decisions) return;
    for (const PluginDecisions::Sample& s : in.global.plugin_decisions->snapshot())
        w.sample({s.plugin, s.route, s.decision}, static_cast<double>(s.count));
}

void tls_handshakes(const ScrapeInput& in, SampleWriter& w) {
    for (size_t i = 0; i < TlsStats::kVersions.size(); ++i) {
        int64_t n = 0;
        for (const WorkerMetrics* m : in.workers) n += m->tls.handshakes[i].get();
        w.sample({std::string(TlsStats::kVersions[i])}, static_cast<double>(n));
    }
}

void tls_resumed(const ScrapeInput& in, SampleWriter& w) {
    int64_t n = 0;
    for (const WorkerMetrics* m : in.workers) n += m->tls.resumed.get();
    w.sample(static_cast<double>(n));
}

void tls_failures(const ScrapeInput& in, SampleWriter& w) {
    for (size_t i = 0; i < TlsStats::kFailureReasons.size(); ++i) {
        int64_t n = 0;
        for (const WorkerMetrics* m : in.workers) n += m->tls.failures[i].get();
        w.sample({std::string(TlsStats::kFailureReasons[i])}, static_cast<double>(n));
    }
}

template <size_t N, std::array<Cell, N> H2Stats::*Cells>
void h2_by_reason(const ScrapeInput& in, SampleWriter& w, const std::array<std::string_view, N>& labels) {
    for (size_t i = 0; i < N; ++i) {
        int64_t n = 0;
        for (const WorkerMetrics* m : in.workers) n += (m->h2.*Cells)[i].get();
        w.sample({std::string(labels[i])}, static_cast<double>(n));
    }
}

void h2_resets(const ScrapeInput& in, SampleWriter& w) {
    h2_by_reason<H2Stats::kResetReasons.size(), &H2Stats::resets>(in, w, H2Stats::kResetReasons);
}

void h2_goaways(const ScrapeInput& in, SampleWriter& w) {
    h2_by_reason<H2Stats::kGoawayReasons.size(), &H2Stats::goaways>(in, w, H2Stats::kGoawayReasons);
}

template <Cell H2Stats::*C> void h2_summed(const ScrapeInput& in, SampleWriter& w) {
    int64_t n = 0;
    for (const WorkerMetrics* m : in.workers) n += (m->h2.*C).get();
    w.sample(static_cast<double>(n));
}

} // namespace

const std::vector<MetricDecl>& metric_catalog() {
    using M = WorkerMetrics;
    using B = broker::BrokerCounters;
    using P = ProcessStats;
    static const std::vector<MetricDecl> catalog = {
        {"sluice_build_info",
         C::Gauge,
         "Always 1; the labels name the build running.",
         {"version", "commit", "build_type"},
         build_info},
        {"sluice_connections_open",
         C::Gauge,
         "Open client connections.",
         {},
         summed<&M::connections_open>},
        {"sluice_connections_total",
         C::Counter,
         "Accepted client connections.",
         {},
         summed<&M::connections_total>},
        {"sluice_connections_rejected_total",
         C::Counter,
         "Connections refused by max_connections or max_connections_per_ip.",
         {},
         summed<&M::rejected_connections>},
        {"sluice_tls_handshakes_total",
         C::Counter,
         "Completed TLS handshakes with clients, by protocol version.",
         {"version"},
         tls_handshakes},
        {"sluice_tls_resumed_total",
         C::Counter,
         "TLS handshakes that resumed a session with a ticket (also in handshakes_total).",
         {},
         tls_resumed},
        {"sluice_tls_handshake_failures_total",
         C::Counter,
         "Failed TLS handshakes with clients, by reason.",
         {"reason"},
         tls_failures},
        {"sluice_http2_connections_open",
         C::Gauge,
         "Open client connections speaking HTTP/2 (h2 over TLS, or h2c).",
         {},
         h2_summed<&H2Stats::connections_open>},
        {"sluice_http2_connections_total",
         C::Counter,
         "Client connections that started HTTP/2.",
         {},
         h2_summed<&H2Stats::connections_total>},
        {"sluice_http2_streams_open",
         C::Gauge,
         "Open HTTP/2 streams (requests in progress, SSE streams included).",
         {},
         h2_summed<&H2Stats::streams_open>},
        {"sluice_http2_streams_total",
         C::Counter,
         "HTTP/2 streams (requests) opened by clients.",
         {},
         h2_summed<&H2Stats::streams_total>},
        {"sluice_http2_stream_resets_total",
         C::Counter,
         "HTTP/2 streams reset, by reason: slow, stalled, cancel, error (sent by sluice) or client.",
         {"reason"},
         h2_resets},
        {"sluice_http2_goaways_total",
         C::Counter,
         "HTTP/2 connections ended with GOAWAY by sluice, by reason.",
         {"reason"},
         h2_goaways},
        {"sluice_sse_streams_open",
         C::Gauge,
         "Open SSE streams.",
         {},
         summed<&M::sse_streams_open>},
        {"sluice_sse_streams_total",
         C::Counter,
         "SSE streams opened.",
         {},
         summed<&M::sse_streams_total>},
        {"sluice_poll_waiting",
         C::Gauge,
         "Long-poll requests waiting for an event.",
         {},
         summed<&M::poll_waiting>},
        {"sluice_events_published_total",
         C::Counter,
         "Events accepted by the HTTP publish endpoint.",
         {},
         summed<&M::events_published>},
        {"sluice_events_received_total",
         C::Counter,
         "Events the broker passed to sluice, each counted once for the process.",
         {},
         global_value<&GlobalState::events_received>},
        {"sluice_events_delivered_total",
         C::Counter,
         "Events written to SSE clients.",
         {},
         summed<&M::events_delivered>},
        {"sluice_sent_bytes_total",
         C::Counter,
         "SSE event bytes written to clients.",
         {},
         summed<&M::sent_bytes>},
        {"sluice_sse_slow_disconnects_total",
         C::Counter,
         "Streams closed because the client fell behind client_buffer.",
         {},
         summed<&M::slow_disconnects>},
        {"sluice_io_uring_sends_total",
         C::Counter,
         "Socket writes handed to the kernel in io_uring batches (io_uring: true).",
         {},
         summed<&M::io_uring_sends>},
        {"sluice_sse_gaps_total", C::Counter, "Gap events sent to clients.", {}, summed<&M::gaps>},
        {"sluice_history_evicted_total",
         C::Counter,
         "Events dropped from the process's history by size, bytes or TTL.",
         {},
         global_value<&GlobalState::history_evicted>},
        {"sluice_channels",
         C::Gauge,
         "Channels worker loops hold for their readers (streams and waiting polls), summed.",
         {},
         summed<&M::channels>},
        {"sluice_channels_stored",
         C::Gauge,
         "Channels holding events in this process (what limits.max_channels counts).",
         {},
         global_value<&GlobalState::channels_stored>},
        {"sluice_history_bytes",
         C::Gauge,
         "History bytes held by the process, once for all loops (limits.max_history_bytes).",
         {},
         global_value<&GlobalState::history_bytes>},
        {"sluice_history_evictions_total",
         C::Counter,
         "Events evicted to stay within limits.max_history_bytes, by reason.",
         {"reason"},
         history_evictions},
        {"sluice_events_dropped_total",
         C::Counter,
         "Events from Redis that could not be stored, by reason (readers see a gap).",
         {"reason"},
         events_dropped},
        {"sluice_worker_connections_open",
         C::Gauge,
         "Open connections per worker loop.",
         {"worker"},
         worker_connections},
        {"sluice_broker_up",
         C::Gauge,
         "1 when the broker connection is ready.",
         {"broker"},
         broker_up},
        {"sluice_broker_reconnects_total",
         C::Counter,
         "Reconnections to the broker.",
         {},
         broker_cell<&B::reconnects>,
         with_redis},
        {"sluice_broker_subscriptions",
         C::Gauge,
         "Channel patterns subscribed.",
         {},
         broker_cell<&B::subscriptions>,
         with_redis},
        {"sluice_broker_messages_total",
         C::Counter,
         "Messages received from Redis by mode.",
         {"mode"},
         broker_messages,
         with_redis},
        {"sluice_broker_messages_dropped_total",
         C::Counter,
         "Invalid messages from Redis, dropped.",
         {"reason"},
         broker_dropped,
         with_redis},
        {"sluice_broker_recovered_total",
         C::Counter,
         "Events read back from Redis history (catch-up after reconnects and resumes).",
         {},
         broker_cell<&B::recovered>,
         with_redis},
        {"sluice_broker_publish_errors_total",
         C::Counter,
         "Publishes Redis refused or never answered.",
         {},
         broker_cell<&B::publish_errors>,
         with_redis},
        {"sluice_config_reloads_total",
         C::Counter,
         "Successful config reloads.",
         {},
         global_value<&GlobalState::reloads>},
        {"sluice_config_reload_failures_total",
         C::Counter,
         "Rejected config reloads.",
         {},
         global_value<&GlobalState::reload_failures>},
        {"sluice_http_requests_total",
         C::Counter,
         "Requests by route and status.",
         {"route", "status"},
         http_requests},
        {"sluice_http_request_duration_seconds",
         C::Histogram,
         "Time to the response head (SSE) or the full response, by route.",
         {"route"},
         http_durations},
        {"sluice_upstream_requests_total",
         C::Counter,
         "Requests sent to upstream servers.",
         {"upstream"},
         upstream_series<kRequests>},
        {"sluice_upstream_retries_total",
         C::Counter,
         "Upstream requests retried on another attempt.",
         {"upstream"},
         upstream_series<kRetries>},
        {"sluice_upstream_failures_total",
         C::Counter,
         "Failed upstream attempts by reason.",
         {"upstream", "reason"},
         upstream_failures},
        {"sluice_plugin_counter_total",
         C::Counter,
         "Counters of third-party plugins (host->count), by plugin and counter name.",
         {"plugin", "counter"},
         plugin_counter},
        {"sluice_plugin_decisions_total",
         C::Counter,
         "Requests the authenticating plugins let through (allow) or refused "
         "(unauthenticated: 401, forbidden: 403), by plugin and route.",
         {"plugin", "route", "decision"},
         plugin_decisions},
        {"process_cpu_seconds_total",
         C::Counter,
         "User and system CPU time spent in seconds.",
         {},
         process_value<&P::cpu_seconds>,
         with_proc},
        {"process_resident_memory_bytes",
         C::Gauge,
         "Resident memory size in bytes.",
         {},
         process_value<&P::resident_bytes>,
         with_proc},
        {"process_virtual_memory_bytes",
         C::Gauge,
         "Virtual memory size in bytes.",
         {},
         process_value<&P::virtual_bytes>,
         with_proc},
        {"process_open_fds",
         C::Gauge,
         "Number of open file descriptors.",
         {},
         process_value<&P::open_fds>,
         with_proc},
        {"process_max_fds",
         C::Gauge,
         "Maximum number of open file descriptors.",
         {},
         process_value<&P::max_fds>,
         with_proc},
        {"process_start_time_seconds",
         C::Gauge,
         "Start time of the process since unix epoch in seconds.",
         {},
         process_value<&P::start_time_seconds>,
         with_proc},
    };
    return catalog;
}

std::string render_prometheus(const std::vector<const WorkerMetrics*>& workers,
                              const GlobalState& global) {
    ScrapeInput in{workers, global, read_process_stats()};
    return render_catalog(metric_catalog(), in);
}

} // namespace sluice::admin
