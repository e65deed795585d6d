// The `broker` section: which broker, and for Redis where it is (url, or a cluster's seed
// nodes), how its keys are named, how much history the sequenced-publish function keeps
// there, and reconnect backoff.
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
                                    "reach a TLS Redis through a local TLS tunnel (docs/tls.md, Redis over TLS)");
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

// A cluster seed: a redis:// URL (TCP; a cluster has only database 0).
bool load_node(const Value& v, Diagnostics& diag, std::string& out) {
    auto s = read_string(v, diag);
    if (!s) return false;
    if (s->rfind("rediss://", 0) == 0) {
        diag.error(v.mark, v.path + ": rediss:// (TLS) is not supported by this build's hiredis, "
                                    "nor Redis Cluster over TLS (docs/tls.md, Redis over TLS)");
        return false;
    }
    if (s->rfind("redis://", 0) != 0) {
        diag.error(v.mark, v.path + ": must be a redis:// URL like redis://10.0.0.1:6379, got '" +
                               without_credentials(*s) + "'");
        return false;
    }
    std::string error;
    auto ep = broker::parse_redis_url(*s, &error);
    if (!ep) {
        diag.error(v.mark, v.path + ": " + error);
        return false;
    }
    if (ep->db != 0) {
        diag.error(v.mark, v.path + ": Redis Cluster has only database 0, got " + std::to_string(ep->db));
        return false;
    }
    out = *s;
    return true;
}

void load_nodes(const Value& v, Diagnostics& diag, std::vector<std::string>& out) {
    if (!v.node.IsSequence()) {
        diag.error(v.mark, v.path + ": expected a list of seed node URLs like "
                                    "[redis://10.0.0.1:6379], got " + describe(v.node));
        return;
    }
    if (v.node.size() == 0) {
        diag.error(v.mark, v.path + ": must list at least one seed node");
        return;
    }
    std::vector<std::string> nodes;
    bool ok = true;
    for (const auto& item : read_list(v, "node URLs", diag)) {
        std::string url;
        if (!load_node(item, diag, url)) {
            ok = false;
            continue;
        }
        nodes.push_back(std::move(url));
    }
    if (ok) out = std::move(nodes);
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
    std::string type = broker::broker_type_name(out.type);
    bool type_ok = r.get_choice("type", type, {"memory", "redis", "redis-cluster"}) && r.is_map();
    if (type_ok)
        out.type = type == "redis"           ? broker::BrokerType::Redis
                   : type == "redis-cluster" ? broker::BrokerType::RedisCluster
                                             : broker::BrokerType::Memory;
    bool cluster = out.type == broker::BrokerType::RedisCluster;
    if (auto url = r.find("url")) {
        // A cluster is found from its nodes; a url next to them would be silently unused.
        if (type_ok && cluster)
            diag.error(r.key_mark("url"), r.path("url") + ": not used with type redis-cluster; "
                                                          "list the seed nodes in 'nodes'");
        else
            load_url(*url, diag, out.url);
    }
    if (auto nodes = r.find("nodes")) {
        if (type_ok && !cluster)
            diag.error(r.key_mark("nodes"), r.path("nodes") + ": only used with type redis-cluster (this broker is " + type + ")");
        else
            load_nodes(*nodes, diag, out.nodes);
    } else if (type_ok && cluster) {
        type_ok = r.require("nodes") && type_ok;
    }
    if (auto prefix = r.find("key_prefix")) load_key_prefix(*prefix, diag, out.key_prefix);
    if (auto history = r.find("history")) load_redis_history(*history, diag, out.history);
    if (auto reconnect = r.find("reconnect")) load_reconnect(*reconnect, diag, out);
    r.finish();
    return type_ok;
}

}  // namespace sluice::config
