// The `broker` section: which broker, and for Redis where it is, how its keys are named,
// how much history the sequenced-publish function keeps there, and reconnect backoff.
#include "gateway/broker/redis_url.h"
#include "gateway/config/loaders.h"
#include "gateway/core/units.h"

namespace sluice::config {
namespace {

// The URL without its userinfo, for messages: a password never reaches a log or a terminal.
std::string without_credentials(const std::string& url) {
    size_t scheme = url.find("://");
    size_t from = scheme == std::string::npos ? 0 : scheme + 3;
    size_t at = url.find('@', from);
    if (at == std::string::npos) return url;
    return url.substr(0, from) + "***@" + url.substr(at + 1);
}

void load_url(const Value& v, Diagnostics& diag, std::string& out) {
    auto s = read_string(v, diag);
    if (!s) return;
    // The url only matters for redis; checking it for memory too catches typos early.
    if (s->rfind("rediss://", 0) == 0) {
        diag.error(v.mark, v.path + ": rediss:// (TLS) is not supported by this build's hiredis; "
                                    "reach a TLS Redis through a local TLS tunnel (see docs/configuration.md, broker)");
        return;
    }
    if (s->rfind("redis://", 0) != 0 && s->rfind("unix://", 0) != 0) {
        diag.error(v.mark, v.path + ": must start with redis:// or unix://, got '" +
                               without_credentials(*s) + "'");
        return;
    }
    std::string error;
    if (!broker::parse_redis_url(*s, &error)) {
        diag.error(v.mark, v.path + ": " + error);
        return;
    }
    out = *s;
}

void load_key_prefix(const Value& v, Diagnostics& diag, std::string& out) {
    auto s = read_string(v, diag);
    if (!s) return;
    if (s->empty()) {
        diag.error(v.mark, v.path + ": must not be empty");
        return;
    }
    // Channels sit in {braces} after the prefix so that a channel's keys share one
    // Redis Cluster slot; braces in the prefix would pick a different hash tag.
    for (char c : *s) {
        if (c == '{' || c == '}' || static_cast<unsigned char>(c) <= ' ') {
            diag.error(v.mark, v.path + ": must not contain braces, spaces or control "
                                        "characters, got '" + *s + "'");
            return;
        }
    }
    out = *s;
}

// Only size, ttl and positions_ttl: the Redis function caps its stream by count, expires
// it by age, and keeps the position counter for positions_ttl.
void load_redis_history(const Value& v, Diagnostics& diag, broker::RedisHistoryOptions& out) {
    MapReader r(v, diag);
    r.get_count("size", out.max_events, 1, UINT64_MAX);
    r.get_duration("ttl", out.ttl, Millis(1));
    r.get_duration("positions_ttl", out.positions_ttl, Millis(1));
    r.finish();
}

void load_reconnect(const Value& v, Diagnostics& diag, broker::BrokerOptions& out) {
    MapReader r(v, diag);
    Millis min = out.reconnect_min;
    Millis max = out.reconnect_max;
    bool min_ok = r.get_duration("min", min, Millis(1));
    bool max_ok = r.get_duration("max", max, Millis(1));
    if (min_ok && max_ok && max < min) {
        auto at = r.find("max");
        diag.error(at ? at->mark : r.mark(),
                   r.path("max") + ": must be at least min (" + format_duration(min) + "), got " +
                       format_duration(max));
    } else {
        if (min_ok) out.reconnect_min = min;
        if (max_ok) out.reconnect_max = max;
    }
    r.finish();
}

}  // namespace

bool load_broker(const Value& v, Diagnostics& diag, broker::BrokerOptions& out) {
    MapReader r(v, diag);
    std::string type = out.type == broker::BrokerType::Redis ? "redis" : "memory";
    bool type_ok = r.get_choice("type", type, {"memory", "redis"}) && r.is_map();
    if (type_ok) out.type = type == "redis" ? broker::BrokerType::Redis : broker::BrokerType::Memory;
    if (auto url = r.find("url")) load_url(*url, diag, out.url);
    if (auto prefix = r.find("key_prefix")) load_key_prefix(*prefix, diag, out.key_prefix);
    if (auto history = r.find("history")) load_redis_history(*history, diag, out.history);
    if (auto reconnect = r.find("reconnect")) load_reconnect(*reconnect, diag, out);
    r.finish();
    return type_ok;
}

}  // namespace sluice::config
