// How the process's RedisFeed hears events: PSUBSCRIBE to the routes' channel patterns
// on one Redis (PatternSubscription), or SSUBSCRIBE to the channels the process holds on
// the master of each one's slot in a Redis Cluster (ShardedSubscription). Either way
// each message comes out as (channel, data, sequenced): which subscription it came
// through says whether it is a sluice_publish envelope, never its bytes (issue 8).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace sluice::broker {

class FeedSubscription {
  public:
    struct Callbacks {
        // Every subscription is in place: after start, a reconnect, or a move to another
        // node. Events published while it was not may be missing: the feed catches up.
        std::function<void()> on_ready;
        // A subscription was lost (connection, failover): events may be missed until
        // the next on_ready.
        std::function<void(const std::string& why)> on_down;
        // `channel` is the sluice channel (for a sequenced message without the
        // "<prefix>seq:" namespace).
        std::function<void(const std::string& channel, const std::string& data, bool sequenced)> on_message;
        // count() changed (a sharded subscription takes effect or ends).
        std::function<void()> on_count;
    };

    virtual ~FeedSubscription() = default;
    virtual void start(Callbacks cb) = 0;
    virtual void stop(std::function<void()> done) = 0;
    virtual bool ready() const = 0;
    // Config reload: the routes' channel patterns (used by pattern subscriptions only).
    virtual void set_patterns(std::vector<std::string> patterns) = 0;
    // Subscriptions in effect (for the sluice_broker_subscriptions gauge).
    virtual size_t count() const = 0;
};

}  // namespace sluice::broker
