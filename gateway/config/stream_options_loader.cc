// Stream options that both `defaults` and sse routes accept: heartbeat and history,
// plus the `defaults` section itself.
#include "gateway/config/loaders.h"
#include "gateway/core/units.h"

namespace sluice::config {
namespace {

// Below this a heartbeat is load, not liveness; browsers and proxies need far less.
constexpr Millis kMinHeartbeat{100};

void check_interval(const Value& v, Millis d, Diagnostics& diag, sse::HeartbeatOptions& out) {
    if (d < kMinHeartbeat) {
        diag.error(v.mark, v.path + ": must be at least " + format_duration(kMinHeartbeat) +
                               ", got " + v.node.Scalar());
        return;
    }
    out.interval = d;
}

}  // namespace

void load_heartbeat(const Value& v, Diagnostics& diag, sse::HeartbeatOptions& out) {
    if (v.node.IsScalar()) {
        if (auto d = read_duration(v, diag)) check_interval(v, *d, diag, out);
        return;
    }
    if (!v.node.IsMap()) {
        diag.error(v.mark, v.path + ": expected a duration like 15s or a map {interval, mode}, "
                                    "got " + describe(v.node));
        return;
    }
    MapReader r(v, diag);
    if (auto interval = r.find("interval")) {
        if (auto d = read_duration(*interval, diag)) check_interval(*interval, *d, diag, out);
    }
    std::string mode;
    if (r.get_choice("mode", mode, {"comment", "data"}) && !mode.empty())
        out.mode = mode == "data" ? sse::HeartbeatMode::Data : sse::HeartbeatMode::Comment;
    r.finish();
}

void load_history(const Value& v, Diagnostics& diag, history::HistoryLimits& out) {
    MapReader r(v, diag);
    r.get_count("size", out.max_events, 1, UINT64_MAX);
    r.get_size("max_bytes", out.max_bytes);
    r.get_duration("ttl", out.ttl, Millis(1));
    r.get_duration("positions_ttl", out.positions_ttl, Millis(1));
    r.finish();
}

void load_defaults(const Value& v, Diagnostics& diag, Defaults& out) {
    MapReader r(v, diag);
    if (auto hb = r.find("heartbeat")) load_heartbeat(*hb, diag, out.heartbeat);
    if (auto history = r.find("history")) load_history(*history, diag, out.history);
    r.get_duration("retry", out.retry);
    r.finish();
}

}  // namespace sluice::config
