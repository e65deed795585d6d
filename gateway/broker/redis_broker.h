// The redis broker, one per worker loop. Events arrive through the loop's HubInbox (fed
// by the process's RedisFeed); this loop's own hiredis connection publishes with
// FCALL sluice_publish, loads a channel's head and recent history when a client asks
// for a channel the loop has never seen, and reads older events for resuming clients.
#pragma once

#include <uv.h>

#include <memory>

#include "gateway/broker/broker.h"
#include "gateway/broker/counters.h"
#include "gateway/broker/hub_inbox.h"
#include "gateway/broker/options.h"
#include "gateway/broker/redis_functions.h"
#include "gateway/broker/redis_link.h"
#include "gateway/core/lifetime.h"

namespace sluice::broker {

class RedisBroker final : public Broker {
  public:
    RedisBroker(uv_loop_t* loop, MemoryHub& hub, const BrokerOptions& cfg,
                uint64_t max_event_size, BrokerCounters& counters, unsigned worker_index);
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
    // The hub keeps a channel's head for positions_ttl whether or not loops hold it.
    void channel_opened(const std::string&) override {}
    void channel_closed(const std::string&) override {}
    void history_emptied(const std::string& channel, uint64_t head) override {
        inbox_.report_emptied(channel, head);
    }
    bool may_keep_history(const std::string& channel) override { return inbox_.adopt(channel); }
    const char* kind() const override { return "redis"; }

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
    std::unique_ptr<RedisLink> cmd_;
    std::vector<std::function<void()>> waiting_for_link_;
    // Replies that arrive after stop() must not touch this object.
    Lifetime life_;  // replies that arrive after the broker is gone or stopped do nothing
};

}  // namespace sluice::broker
