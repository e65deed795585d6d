// What the broker is configured with (the `broker` section; docs/configuration.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::broker {

using Millis = std::chrono::milliseconds;

// Redis: one server (url). RedisCluster: a Redis Cluster found from seed nodes (nodes).
enum class BrokerType { Memory, Redis, RedisCluster };

inline bool uses_redis(BrokerType t) { return t != BrokerType::Memory; }
inline const char* broker_type_name(BrokerType t) {
    return t == BrokerType::Redis ? "redis" : t == BrokerType::RedisCluster ? "redis-cluster" : "memory";
}

// The per-channel history the sequenced-publish Redis function keeps: capped by count,
// expired by age, and the position counter kept for positions_ttl (at least ttl).
struct RedisHistoryOptions {
    uint64_t max_events = 1000;
    Millis ttl = std::chrono::hours(1);
    Millis positions_ttl = std::chrono::hours(24);
};

struct BrokerOptions {
    BrokerType type = BrokerType::Memory;
    std::string url = "redis://127.0.0.1:6379/0";
    // redis-cluster only: redis:// URLs of seed nodes; the rest of the cluster is found
    // from them (CLUSTER SLOTS). Credentials of the first seed are used for every node.
    std::vector<std::string> nodes;
    // Redis (either type): prefix of every key sluice writes, the history kept in Redis for
    // sequenced publishing, and the reconnect backoff.
    std::string key_prefix = "sluice:";
    RedisHistoryOptions history;
    Millis reconnect_min = std::chrono::milliseconds(100);
    Millis reconnect_max = std::chrono::seconds(5);
};

}  // namespace sluice::broker
