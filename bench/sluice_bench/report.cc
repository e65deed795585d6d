#include "bench/sluice_bench/report.h"

#include <cstdio>

namespace sluice::bench {
namespace {

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}

std::string latency_json(const Histogram& h) {
    return "{\"count\":" + std::to_string(h.count()) + ",\"min\":" + std::to_string(h.min()) +
           ",\"mean\":" + num(h.mean()) + ",\"p50\":" + std::to_string(h.percentile(50)) +
           ",\"p90\":" + std::to_string(h.percentile(90)) +
           ",\"p99\":" + std::to_string(h.percentile(99)) +
           ",\"p999\":" + std::to_string(h.percentile(99.9)) +
           ",\"max\":" + std::to_string(h.max()) + "}";
}

// "1.23ms" / "456us" / "2.50s" for the summary.
std::string human_us(uint64_t us) {
    char buf[32];
    if (us >= 1'000'000) std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(us) / 1e6);
    else if (us >= 1000) std::snprintf(buf, sizeof buf, "%.2fms", static_cast<double>(us) / 1e3);
    else std::snprintf(buf, sizeof buf, "%lluus", static_cast<unsigned long long>(us));
    return buf;
}

std::string latency_line(const char* label, const Histogram& h) {
    if (h.count() == 0) return std::string(label) + ": no samples\n";
    return std::string(label) + ": p50 " + human_us(h.percentile(50)) + "  p90 " +
           human_us(h.percentile(90)) + "  p99 " + human_us(h.percentile(99)) + "  p99.9 " +
           human_us(h.percentile(99.9)) + "  max " + human_us(h.max()) + "  (" +
           std::to_string(h.count()) + " samples)\n";
}

}  // namespace

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out.append("\\n");
        } else if (c == '\r') {
            out.append("\\r");
        } else if (c == '\t') {
            out.append("\\t");
        } else if (u < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out.append(buf);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
    return out;
}

bool report_clean(const Report& r) {
    const auto& s = r.sub;
    bool expected_events = s.connections > 0 && r.pub.mode != "none" && r.pub.published > 0;
    return s.failed == 0 && r.pub.errors == 0 && s.lost == 0 && s.duplicated == 0 &&
           s.reordered == 0 && s.storm_failed == 0 && !(expected_events && s.received == 0);
}

std::string to_json_line(const Report& r) {
    const auto& s = r.sub;
    const auto& p = r.pub;
    std::string j = "{\"tool\":\"sluice-bench\",\"ok\":";
    j += report_clean(r) ? "true" : "false";
    j += ",\"run\":" + json_quote(r.run_id);
    j += ",\"url\":" + json_quote(r.url);
    j += ",\"connections\":" + std::to_string(s.connections);
    j += ",\"channels\":" + std::to_string(r.channels);
    j += ",\"duration_s\":" + num(r.duration_s);
    j += ",\"elapsed_s\":" + num(r.elapsed_s);
    j += ",\"interrupted\":" + std::string(r.interrupted ? "true" : "false");
    j += ",\"start_unix_ms\":" + std::to_string(r.start_unix_ms);
    j += ",\"settled_s\":" + num(r.settled_s);
    j += ",\"publish_start_s\":" + num(r.publish_start_s);
    j += ",\"publish_end_s\":" + num(r.publish_end_s);
    j += ",\"cpu_user_s\":" + num(r.cpu_user_s);
    j += ",\"cpu_sys_s\":" + num(r.cpu_sys_s);
    j += ",\"nofile_limit\":" + std::to_string(r.nofile_limit);
    j += ",\"connected\":" + std::to_string(s.connected);
    j += ",\"failed\":" + std::to_string(s.failed);
    j += ",\"ended\":" + std::to_string(s.ended);
    j += ",\"disconnects\":" + std::to_string(s.disconnects);
    j += ",\"reconnects\":" + std::to_string(s.reconnects);
    j += ",\"open_at_end\":" + std::to_string(s.open_at_end);
    j += ",\"connect_us\":" + latency_json(s.connect_us);
    j += ",\"publish\":{\"mode\":" + json_quote(p.mode);
    j += ",\"target_rate\":" + num(r.target_rate_per_s);
    j += ",\"target_events\":" + std::to_string(r.target_events);
    j += ",\"size\":" + std::to_string(r.size);
    j += ",\"published\":" + std::to_string(p.published);
    j += ",\"acked\":" + std::to_string(p.acked);
    j += ",\"errors\":" + std::to_string(p.errors);
    j += ",\"rate\":" + num(p.rate_per_s);
    j += ",\"first_error\":" + (p.first_error.empty() ? "null" : json_quote(p.first_error));
    j += "}";
    j += ",\"received\":" + std::to_string(s.received);
    j += ",\"replayed\":" + std::to_string(s.replayed);
    j += ",\"lost\":" + std::to_string(s.lost);
    j += ",\"duplicated\":" + std::to_string(s.duplicated);
    j += ",\"reordered\":" + std::to_string(s.reordered);
    j += ",\"gaps\":" + std::to_string(s.gaps);
    j += ",\"other_events\":" + std::to_string(s.other_events);
    j += ",\"foreign\":" + std::to_string(s.foreign);
    j += ",\"comments\":" + std::to_string(s.comments);
    j += ",\"stalled\":" + std::to_string(s.stalled);
    j += ",\"latency_us\":" + latency_json(s.latency_us);
    if (s.storm) {
        j += ",\"storm\":{\"at_s\":" + num(s.storm_at_s);
        j += ",\"dropped\":" + std::to_string(s.storm_dropped);
        j += ",\"reconnected\":" + std::to_string(s.storm_reconnected);
        j += ",\"failed\":" + std::to_string(s.storm_failed);
        j += ",\"duration_ms\":" + num(s.storm_ms) + "}";
    } else {
        j += ",\"storm\":null";
    }
    j += ",\"first_error\":" + (s.first_error.empty() ? "null" : json_quote(s.first_error));
    j += "}\n";
    return j;
}

std::string to_summary(const Report& r) {
    const auto& s = r.sub;
    const auto& p = r.pub;
    std::string o;
    o += "sluice-bench run " + r.run_id + " " + r.url + "  (" + num(r.elapsed_s) + "s of " +
         num(r.duration_s) + "s" + (r.interrupted ? ", interrupted" : "") + ")\n";
    o += "connections: " + std::to_string(s.connected) + "/" + std::to_string(s.connections) +
         " connected, " + std::to_string(s.failed) + " failed, " + std::to_string(s.open_at_end) +
         " open at end, " + std::to_string(s.disconnects) + " disconnects, " +
         std::to_string(s.reconnects) + " reconnects\n";
    o += latency_line("connect", s.connect_us);
    o += "publish (" + p.mode + "): " + std::to_string(p.published) + " sent, " +
         std::to_string(p.acked) + " acked, " + std::to_string(p.errors) + " errors, " +
         num(p.rate_per_s) + "/s\n";
    if (!p.first_error.empty()) o += "  first publish error: " + p.first_error + "\n";
    o += "received: " + std::to_string(s.received) + " (" + std::to_string(s.replayed) +
         " replayed)  lost " + std::to_string(s.lost) + "  duplicated " +
         std::to_string(s.duplicated) + "  reordered " + std::to_string(s.reordered) +
         "  gaps " + std::to_string(s.gaps) + "\n";
    o += latency_line("latency", s.latency_us);
    if (s.stalled > 0)
        o += "stalled clients: " + std::to_string(s.stalled) + " stopped reading\n";
    o += "bench cpu: " + num(r.cpu_user_s) + "s user + " + num(r.cpu_sys_s) + "s sys\n";
    if (s.storm) {
        o += "reconnect storm at " + num(s.storm_at_s) + "s: " + std::to_string(s.storm_dropped) +
             " dropped, " + std::to_string(s.storm_reconnected) + " back, " +
             std::to_string(s.storm_failed) + " failed, all back after " + num(s.storm_ms) +
             "ms\n";
    }
    if (!s.first_error.empty()) o += "first subscriber error: " + s.first_error + "\n";
    o += report_clean(r) ? "result: clean\n" : "result: PROBLEMS (see above)\n";
    return o;
}

}  // namespace sluice::bench
