// The redis broker, one per worker loop (broker types redis and redis-cluster). Events
// arrive through the loop's HubInbox (fed by the process's RedisFeed); this loop's own
// commands (one connection, or one per cluster master) publish with FCALL sluice_publish,
// load a channel's head and recent history when a client asks for a channel the loop has
// never seen, and read older events for resuming clients. In a cluster the loop also
// tells the feed which channels it holds (ChannelInterest): a channel is loaded only once
// the feed's sharded subscription to it is in place, so no event falls between.
#pragma once

#include <uv.h>

#include <memory>

#include "gateway/broker/broker.h"
#include "gateway/broker/channel_interest.h"
#include "gateway/broker/counters.h"
#include "gateway/broker/hub_inbox.h"
#include "gateway/broker/options.h"
#include "gateway/broker/redis_functions.h"
#include "gateway/broker/loop_post.h"
#include "gateway/broker/redis_commands.h"
#include "gateway/core/lifetime.h"

namespace sluice::broker {

class RedisBroker final : public Broker {
  public:
    // interest: the feed's, for redis-cluster (outlives the broker); nullptr for redis.
    RedisBroker(uv_loop_t* loop, MemoryHub& hub, const BrokerOptions& cfg,
                uint64_t max_event_size, BrokerCounters& counters, unsigned worker_index,
                ChannelInterest* interest = nullptr);
    ~RedisBroker() override;

    void start(Listener& listener) override;
    void stop(std::function<void()> done) override;
    bool ready() const override;
    void publish(const std::string& channel, const std::string& payload,
                 const std::string& event, PublishCallback cb) override;
    void open_channel(const std::string& channel, std::function<void(ChannelSeed)> cb) override;
    bool keeps_history() const override { return true; }
    void fetch_range(const std::string& channel, uint64_t from, uint64_t to,
                     std::function<void(std::vector<Message>)> cb) override;
    // The hub keeps a channel's head for positions_ttl whether or not loops hold it; in a
    // cluster the feed subscribes to the channels loops hold.
    HeldChannel channel_opened(const std::string& channel) override {
        if (interest_) interest_->acquire(channel, nullptr);
        return inbox_.hold(channel);
    }
    void channel_closed(const std::string& channel) override {
        inbox_.release(channel);
        if (interest_) interest_->release(channel);
    }
    // With one Redis, the process's pattern subscription brings every channel's events to
    // the hub: a channel it has a head for is current (while ready). A cluster feed
    // subscribes only to channels loops hold, so those are always loaded.
    bool follows(const std::string& channel) override {
        return !interest_ && inbox_.hub().head(channel) > 0;
    }
    // Events read from Redis for a reader are kept by its loop only within the cap.
    bool may_keep_history(const std::string& channel) override { return inbox_.hub().admits(channel); }
    void on_sweep() override { inbox_.hub().expire_history(); }
    const char* kind() const override { return interest_ ? "redis-cluster" : "redis"; }

  private:
    // Runs fn now if this loop's connection is up, else once it is (a loop's connection
    // may come up after the process's subscription is already ready).
    void when_connected(std::function<void()> fn);
    // open_channel, with `retries` loads left while a restart of the count is on its way.
    void load_channel(const std::string& channel, std::function<void(ChannelSeed)> cb, int retries);
    std::vector<Message> to_messages(const std::string& channel, std::vector<LogEntry> events);

    uv_loop_t* loop_;
    HubInbox inbox_;
    BrokerOptions cfg_;
    uint64_t max_event_size_;
    BrokerCounters& counters_;
    unsigned worker_index_;
    std::unique_ptr<RedisCommands> cmd_;
    ChannelInterest* interest_;
    std::shared_ptr<LoopPost> post_;  // cluster: the feed's "subscribed" comes back here
    std::vector<std::function<void()>> waiting_for_link_;
    // Replies that arrive after stop() must not touch this object.
    Lifetime life_;  // replies that arrive after the broker is gone or stopped do nothing
};

}  // namespace sluice::broker
