#include "gateway/admin/metrics.h"

#include <cstdio>

namespace sluice::admin {

void RouteStats::record(std::string_view route, int status, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = routes_.find(route);
    if (it == routes_.end()) it = routes_.emplace(std::string(route), Entry{}).first;
    Entry& e = it->second;
    ++e.by_status[status];
    size_t i = 0;
    while (i < kBucketCount && seconds > kBuckets[i]) ++i;
    ++e.latency.buckets[i];
    e.latency.sum += seconds;
    ++e.latency.count;
}

void RouteStats::snapshot(std::map<std::pair<std::string, int>, uint64_t>& requests,
                          std::map<std::string, Latency>& latency) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [route, e] : routes_) {
        for (const auto& [status, n] : e.by_status) requests[{route, status}] += n;
        Latency& out = latency[route];
        for (size_t i = 0; i <= kBucketCount; ++i) out.buckets[i] += e.latency.buckets[i];
        out.sum += e.latency.sum;
        out.count += e.latency.count;
    }
}

void UpstreamStats::count(const std::string& upstream, const std::string& series) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_[{upstream, series}];
}

void UpstreamStats::snapshot(std::map<std::pair<std::string, std::string>, uint64_t>& out) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [k, v] : counts_) out[k] += v;
}

namespace {

std::string label_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

struct Writer {
    std::string out;
    void help(const char* name, const char* type, const char* help) {
        out += "# HELP ";
        out += name;
        out += ' ';
        out += help;
        out += "\n# TYPE ";
        out += name;
        out += ' ';
        out += type;
        out += '\n';
    }
    void sample(const std::string& name, double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %.17g\n", v);
        out += name;
        out += buf;
    }
    template <class F>
    void summed(const char* name, const char* type, const char* text,
                const std::vector<const WorkerMetrics*>& ws, F field) {
        help(name, type, text);
        int64_t total = 0;
        for (const auto* w : ws) total += field(*w).get();
        sample(name, static_cast<double>(total));
    }
};

}  // namespace

std::string render_prometheus(const std::vector<const WorkerMetrics*>& ws,
                              const GlobalState& global) {
    Writer w;
    using M = WorkerMetrics;
    w.summed("sluice_connections_open", "gauge", "Open client connections.", ws,
             [](const M& m) -> const Cell& { return m.connections_open; });
    w.summed("sluice_connections_total", "counter", "Accepted client connections.", ws,
             [](const M& m) -> const Cell& { return m.connections_total; });
    w.summed("sluice_connections_rejected_total", "counter",
             "Connections refused by max_connections or max_connections_per_ip.", ws,
             [](const M& m) -> const Cell& { return m.rejected_connections; });
    w.summed("sluice_sse_streams_open", "gauge", "Open SSE streams.", ws,
             [](const M& m) -> const Cell& { return m.sse_streams_open; });
    w.summed("sluice_sse_streams_total", "counter", "SSE streams opened.", ws,
             [](const M& m) -> const Cell& { return m.sse_streams_total; });
    w.summed("sluice_poll_waiting", "gauge", "Long-poll requests waiting for an event.", ws,
             [](const M& m) -> const Cell& { return m.poll_waiting; });
    w.summed("sluice_events_published_total", "counter",
             "Events accepted by the HTTP publish endpoint.", ws,
             [](const M& m) -> const Cell& { return m.events_published; });
    w.summed("sluice_events_received_total", "counter",
             "Events received from the broker, summed over worker loops.", ws,
             [](const M& m) -> const Cell& { return m.events_received; });
    w.summed("sluice_events_delivered_total", "counter", "Events written to SSE clients.", ws,
             [](const M& m) -> const Cell& { return m.events_delivered; });
    w.summed("sluice_bytes_out_total", "counter", "SSE event bytes written to clients.", ws,
             [](const M& m) -> const Cell& { return m.bytes_out; });
    w.summed("sluice_sse_slow_disconnects_total", "counter",
             "Streams closed because the client fell behind client_buffer.", ws,
             [](const M& m) -> const Cell& { return m.slow_disconnects; });
    w.summed("sluice_sse_gaps_total", "counter", "Gap events sent to clients.", ws,
             [](const M& m) -> const Cell& { return m.gaps; });
    w.summed("sluice_history_evicted_total", "counter",
             "Events dropped from history by size, bytes or TTL.", ws,
             [](const M& m) -> const Cell& { return m.history_evicted; });
    w.summed("sluice_channels", "gauge",
             "Channel states held, summed over worker loops (readers' channels included).", ws,
             [](const M& m) -> const Cell& { return m.channels; });
    w.help("sluice_channels_stored", "gauge",
           "Channels holding events in this process (what limits.max_channels counts).");
    w.sample("sluice_channels_stored", static_cast<double>(global.channels_stored));
    w.summed("sluice_history_bytes", "gauge",
             "History bytes held, summed over worker loops (limits.max_history_bytes).", ws,
             [](const M& m) -> const Cell& { return m.history_bytes; });
    {
        int64_t idle = 0, oldest = 0;
        for (const auto* m : ws) {
            idle += m->history_budget_evicted_idle.get();
            oldest += m->history_budget_evicted_oldest.get();
        }
        w.help("sluice_history_evictions_total", "counter",
               "Events evicted to stay within limits.max_history_bytes, by reason.");
        w.sample("sluice_history_evictions_total{reason=\"idle_channel\"}", static_cast<double>(idle));
        w.sample("sluice_history_evictions_total{reason=\"oldest_events\"}", static_cast<double>(oldest));
    }
    w.help("sluice_events_dropped_total", "counter",
           "Events from Redis that could not be stored, by reason (readers see a gap).");
    w.sample("sluice_events_dropped_total{reason=\"max_channels\"}",
             static_cast<double>(global.dropped_max_channels));

    w.help("sluice_worker_connections_open", "gauge", "Open connections per worker loop.");
    for (size_t i = 0; i < ws.size(); ++i) {
        w.sample("sluice_worker_connections_open{worker=\"" + std::to_string(i) + "\"}",
                 static_cast<double>(ws[i]->connections_open.get()));
    }

    w.help("sluice_broker_up", "gauge", "1 when the broker connection is ready.");
    w.sample(std::string("sluice_broker_up{broker=\"") + global.broker_kind + "\"}",
             global.broker_up ? 1 : 0);
    if (const BrokerMetrics* b = global.broker) {
        auto one = [&](const char* name, const char* type, const char* help, const SharedCell& c) {
            w.help(name, type, help);
            w.sample(name, static_cast<double>(c.get()));
        };
        one("sluice_broker_reconnects_total", "counter", "Reconnections to the broker.", b->reconnects);
        one("sluice_broker_subscriptions", "gauge", "Channel patterns subscribed.", b->subscriptions);
        w.help("sluice_broker_messages_total", "counter", "Messages received from Redis by mode.");
        w.sample("sluice_broker_messages_total{mode=\"plain\"}", static_cast<double>(b->messages_plain.get()));
        w.sample("sluice_broker_messages_total{mode=\"sequenced\"}",
                 static_cast<double>(b->messages_sequenced.get()));
        w.help("sluice_broker_messages_dropped_total", "counter", "Invalid messages from Redis, dropped.");
        w.sample("sluice_broker_messages_dropped_total{reason=\"too_large\"}",
                 static_cast<double>(b->dropped_too_large.get()));
        w.sample("sluice_broker_messages_dropped_total{reason=\"invalid_utf8\"}",
                 static_cast<double>(b->dropped_invalid_utf8.get()));
        w.sample("sluice_broker_messages_dropped_total{reason=\"nul\"}",
                 static_cast<double>(b->dropped_nul.get()));
        w.sample("sluice_broker_messages_dropped_total{reason=\"bad_envelope\"}",
                 static_cast<double>(b->dropped_bad_envelope.get()));
        one("sluice_broker_recovered_total", "counter",
            "Events read back from Redis history (catch-up after reconnects and resumes).", b->recovered);
        one("sluice_broker_publish_errors_total", "counter", "Publishes Redis refused or never answered.",
            b->publish_errors);
    }
    w.help("sluice_config_reloads_total", "counter", "Successful config reloads.");
    w.sample("sluice_config_reloads_total", static_cast<double>(global.reloads));
    w.help("sluice_config_reload_failures_total", "counter", "Rejected config reloads.");
    w.sample("sluice_config_reload_failures_total", static_cast<double>(global.reload_failures));

    std::map<std::pair<std::string, int>, uint64_t> requests;
    std::map<std::string, RouteStats::Latency> latency;
    for (const auto* m : ws) m->routes.snapshot(requests, latency);

    w.help("sluice_http_requests_total", "counter", "Requests by route and status.");
    for (const auto& [key, n] : requests) {
        w.sample("sluice_http_requests_total{route=\"" + label_escape(key.first) + "\",status=\"" +
                     std::to_string(key.second) + "\"}",
                 static_cast<double>(n));
    }
    w.help("sluice_http_request_duration_seconds", "histogram",
           "Time to the response head (SSE) or the full response, by route.");
    for (const auto& [route, l] : latency) {
        std::string r = label_escape(route);
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= RouteStats::kBucketCount; ++i) {
            cumulative += l.buckets[i];
            char le[32];
            if (i < RouteStats::kBucketCount) std::snprintf(le, sizeof le, "%g", RouteStats::kBuckets[i]);
            else std::snprintf(le, sizeof le, "+Inf");
            w.sample("sluice_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"" + le +
                         "\"}",
                     static_cast<double>(cumulative));
        }
        w.sample("sluice_http_request_duration_seconds_sum{route=\"" + r + "\"}", l.sum);
        w.sample("sluice_http_request_duration_seconds_count{route=\"" + r + "\"}",
                 static_cast<double>(l.count));
    }

    std::map<std::pair<std::string, std::string>, uint64_t> upstream;
    for (const auto* m : ws) m->upstreams.snapshot(upstream);
    auto upstream_series = [&](const char* name, const char* help, bool failures) {
        w.help(name, "counter", help);
        for (const auto& [key, n] : upstream) {
            bool is_failure = key.second != "requests" && key.second != "retries";
            if (failures != is_failure) continue;
            if (!failures && std::string(name).find(key.second) == std::string::npos) continue;
            std::string labels = "{upstream=\"" + label_escape(key.first) + "\"";
            if (failures) labels += ",reason=\"" + label_escape(key.second) + "\"";
            w.sample(std::string(name) + labels + "}", static_cast<double>(n));
        }
    };
    upstream_series("sluice_upstream_requests_total", "Requests sent to upstream servers.", false);
    upstream_series("sluice_upstream_retries_total", "Upstream requests retried on another attempt.",
                    false);
    upstream_series("sluice_upstream_failures_total", "Failed upstream attempts by reason.", true);
    return w.out;
}

}  // namespace sluice::admin
