// The process's one Redis subscription: on one Redis it PSUBSCRIBEs to every route's
// channel pattern and to its sequenced twin (<prefix>seq:<pattern>); in a Redis Cluster
// it SSUBSCRIBEs to the channels the loops hold, on each one's master (see
// FeedSubscription). It turns each message into an event — a plain PUBLISH gets the next
// position here, whatever its bytes; an envelope on the sequenced namespace carries its
// own — and feeds it to the MemoryHub, which hands it to every worker loop in order. One
// subscriber per process keeps every loop's positions for plain channels identical.
//
// Runs on the main thread's loop. After every (re)connect (or move of a subscription to
// another cluster node) it resubscribes, (re)loads the sluice function library (on every
// master), and reads from Redis history whatever sequenced events were published while
// it was away, before it reports ready.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/broker/channel_interest.h"
#include "gateway/broker/counters.h"
#include "gateway/broker/feed_subscription.h"
#include "gateway/broker/memory_hub.h"
#include "gateway/broker/options.h"
#include "gateway/broker/redis_commands.h"
#include "gateway/broker/redis_functions.h"

namespace sluice::broker {

class RedisFeed {
  public:
    RedisFeed(uv_loop_t* loop, MemoryHub& hub, const BrokerOptions& cfg,
              uint64_t max_event_size, std::vector<std::string> patterns,
              BrokerCounters& counters);
    ~RedisFeed();

    void start();
    void stop(std::function<void()> done);
    // Config reload: subscribe to new patterns, drop removed ones.
    void set_patterns(std::vector<std::string> patterns);
    // Redis Cluster: where the loops' brokers say which channels they hold (the feed
    // subscribes to those). nullptr for one Redis (patterns cover every channel).
    ChannelInterest* interest() { return interest_; }

  private:
    struct Buffered {
        uint64_t position;
        std::string event;
        std::string payload;
    };

    void on_sub_ready();
    void on_down(const std::string& why);
    // A message on the sequenced namespace of `channel` ("" if it came from outside it).
    void on_sequenced_message(const std::string& channel, const std::string& data);
    // Payload rules (size, NUL, UTF-8); a rejected payload is counted and logged.
    bool acceptable(const std::string& channel, const std::string& payload, const std::string& event);
    void on_plain(const std::string& channel, const std::string& data);
    void on_sequenced(const std::string& channel, Envelope env);
    // An acceptable sequenced event, counted: buffered, repaired, or handed to the hub.
    void take_sequenced(const std::string& channel, Envelope env);
    void maybe_ready();
    void load_functions();
    void catch_up();
    // Reads positions after the hub's head from Redis history, delivers them and then
    // whatever arrived live meanwhile. done runs when the channel is in order again.
    // rewind: read the whole log instead, and start the channel over from it
    // (finish_rewind).
    void repair(const std::string& channel, std::function<void()> done, bool rewind = false);
    void finish_repair(const std::string& channel, std::vector<LogEntry> fetched);
    // Cluster catch-up: does Redis still hold the event the hub delivered at the head?
    // A master that died before its replica had its newest events leaves the promoted
    // replica behind, and its count goes on from an earlier position: the channel is
    // then rewound (its readers get a reset gap) instead of taking new events for copies.
    void check_tip(const std::string& channel, std::function<void()> done);
    void compare_tip(const std::string& channel, std::function<void()> done);
    // A tip check ended: the checks that waited for it run now, as one.
    void end_tip_check(const std::string& channel);
    void finish_rewind(const std::string& channel, std::vector<LogEntry> fetched);
    // Position 1 arrived while the hub's head is past 1: a restart of the count, or a
    // late copy of the current count's first event. Redis's counter decides.
    void verify_restart(const std::string& channel, Envelope first);
    void finish_verify(const std::string& channel, bool restarted);

    uv_loop_t* loop_;
    MemoryHub& hub_;
    BrokerOptions cfg_;
    uint64_t max_event_size_;
    BrokerCounters& counters_;
    std::unique_ptr<RedisCommands> cmd_;
    std::unique_ptr<FeedSubscription> sub_;
    ChannelInterest* interest_ = nullptr;  // sub_, in a cluster
    bool functions_loaded_ = false;
    bool catch_up_begun_ = false;  // a catch-up has started since the last (re)connect
    uint64_t catch_up_epoch_ = 0;  // counts on_down: replies from before it are stale
    bool connected_once_ = false;
    // Channels being repaired: live messages wait here until history is read.
    std::unordered_map<std::string, std::vector<Buffered>> repairing_;
    // Channels with a tip check in flight, and the catch-ups' dones waiting to check again.
    std::unordered_map<std::string, std::vector<std::function<void()>>> checking_tip_;
    uint64_t dropped_logged_ = 0;
    uint64_t bad_envelopes_logged_ = 0;
};

}  // namespace sluice::broker
