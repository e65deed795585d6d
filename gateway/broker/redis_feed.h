// The process's one Redis subscription: PSUBSCRIBEs to every route's channel pattern and
// to its sequenced twin (<prefix>seq:<pattern>), turns each message into an event — a
// plain PUBLISH gets the next position here, whatever its bytes; an envelope on the
// sequenced namespace carries its own — and feeds it to the MemoryHub, which hands it to
// every worker loop in order. One subscriber per process keeps every loop's positions
// for plain channels identical.
//
// Runs on the main thread's loop. After every (re)connect it resubscribes, (re)loads
// the sluice function library, and reads from Redis history whatever sequenced events
// were published while it was away, before it reports ready.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/broker/counters.h"
#include "gateway/broker/memory_hub.h"
#include "gateway/broker/options.h"
#include "gateway/broker/redis_functions.h"
#include "gateway/broker/redis_link.h"

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

  private:
    struct Buffered {
        uint64_t position;
        std::string event;
        std::string payload;
    };

    void on_sub_ready();
    void on_down(const std::string& why);
    void on_push(const RedisValue& push);
    // Every pattern subscribed: the routes' and their sequenced twins.
    std::vector<std::string> subscription() const;
    void on_sequenced_message(const std::string& seq_channel, const std::string& data);
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
    void repair(const std::string& channel, std::function<void()> done);
    void finish_repair(const std::string& channel, std::vector<LogEntry> fetched);
    // Position 1 arrived while the hub's head is past 1: a restart of the count, or a
    // late copy of the current count's first event. Redis's counter decides.
    void verify_restart(const std::string& channel, Envelope first);
    void finish_verify(const std::string& channel, bool restarted);

    uv_loop_t* loop_;
    MemoryHub& hub_;
    BrokerOptions cfg_;
    uint64_t max_event_size_;
    std::vector<std::string> patterns_;       // the routes' channel patterns
    std::vector<std::string> seq_patterns_;   // sequenced_pattern() of each
    BrokerCounters& counters_;
    std::unique_ptr<RedisLink> sub_;
    std::unique_ptr<RedisLink> cmd_;
    size_t subscribed_ = 0;        // PSUBSCRIBE acks since the last connect (both kinds)
    bool functions_loaded_ = false;
    bool catch_up_begun_ = false;  // a catch-up has started since the last (re)connect
    bool connected_once_ = false;
    // Channels being repaired: live messages wait here until history is read.
    std::unordered_map<std::string, std::vector<Buffered>> repairing_;
    uint64_t dropped_logged_ = 0;
    uint64_t bad_envelopes_logged_ = 0;
};

}  // namespace sluice::broker
