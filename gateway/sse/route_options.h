// What an sse or poll route is configured with: everything SseStream and the sse and
// poll handlers read. config/ fills these from YAML (routes[].sse, routes[].poll and
// `defaults`); docs/configuration.md describes each key.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/history/channel_history.h"
#include "gateway/sse/heartbeat.h"
#include "gateway/sse/resume.h"

namespace sluice::sse {

// What a new stream gets while the broker is down.
enum class BrokerDownPolicy {
    Hold,     // 200 and heartbeats until the broker is back
    Pending,  // 503, so a client or load balancer tries elsewhere
};

struct SseRouteOptions {
    std::string channel;  // channel template, e.g. "analysis:{id}"
    HeartbeatOptions heartbeat;
    history::HistoryLimits history;
    std::vector<std::string> terminal{"done", "error"};  // payload types that end a stream
    Start start = Start::Earliest;  // where a client without a position begins
    std::chrono::milliseconds retry = std::chrono::milliseconds(2000);  // first "retry:"
    BrokerDownPolicy on_broker_down = BrokerDownPolicy::Hold;
};

struct PollRouteOptions {
    std::string channel;
    std::vector<std::string> terminal{"done", "error"};
    std::chrono::milliseconds max_wait = std::chrono::seconds(30);  // upper bound for ?wait=
    uint64_t max_events = 1000;                                     // events per response
};

}  // namespace sluice::sse
