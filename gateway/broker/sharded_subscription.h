// The feed's subscription in a Redis Cluster: sharded pub/sub (SSUBSCRIBE, Redis 7) to
// the channels the process's loops hold (ChannelInterest), because sharded pub/sub has
// no patterns. Each channel has two names: itself, for workers' SPUBLISH, and
// "<prefix>seq:{<channel>}", where sluice_publish SPUBLISHes its envelopes (the hash tag
// puts it in the slot of the channel's keys). Each name is subscribed on the master of
// its slot, over one push-mode subscriber link per master.
//
// When a master's link drops, or the slot map moves a name to another master (failover,
// resharding), or a master unsubscribes us on its own (it lost the slot), the names are
// subscribed again where the map says: on_down first, on_ready once they all are, so
// the feed reads back from Redis history what was published meanwhile.
#pragma once

#include <uv.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/broker/channel_interest.h"
#include "gateway/broker/cluster_client.h"
#include "gateway/broker/feed_subscription.h"
#include "gateway/broker/loop_post.h"

namespace sluice::broker {

class ShardedSubscription final : public FeedSubscription, public ChannelInterest {
  public:
    // client: the feed's cluster client (its slot map); outlives this.
    ShardedSubscription(uv_loop_t* loop, ClusterClient& client, BackoffPolicy backoff,
                        std::string key_prefix);
    ~ShardedSubscription() override;

    void start(Callbacks cb) override;
    void stop(std::function<void()> done) override;
    bool ready() const override;
    void set_patterns(std::vector<std::string>) override {}  // subscribes by channel instead
    size_t count() const override { return active_; }

    void acquire(const std::string& channel, Subscribed when_subscribed) override;
    void release(const std::string& channel) override;

    // The client read a slot map (see ClusterClient::set_on_map_read).
    void on_map_read();

  private:
    enum class NameState { Idle, Sent, Active };
    struct Name {
        std::string channel;
        bool sequenced = false;
        std::string node;  // "host:port" of the master it is (to be) subscribed on
        NameState state = NameState::Idle;
        bool lost = false;  // was Active, is being subscribed again (events may be missed)
    };
    struct Channel {
        int holds = 0;
        std::vector<Subscribed> waiting;
    };
    // One sent (un)subscribe per name; each gets exactly one reply, in order.
    struct Sent {
        std::string name;
        bool subscribe;
    };
    struct Shard {
        ClusterNode where;
        std::unique_ptr<RedisLink> link;
        std::deque<Sent> sent;
    };
    struct Retired {
        std::unique_ptr<RedisLink> link;
        bool closed = false;
    };

    void on_acquire(const std::string& channel, Subscribed when_subscribed);
    void on_release(const std::string& channel);
    // `real` is the name subscribed to: the channel, or its sequenced twin
    // "<prefix>seq:{<channel>}" (in the slot of the channel's "{<channel>}" keys).
    Name& add_name(const std::string& real, const std::string& channel, bool sequenced);
    Shard& shard(const ClusterNode& node);
    // Sends SSUBSCRIBE for every Idle name whose master's link is up (after a link came
    // up or the slot map changed).
    void flush();
    void subscribe_if_idle(const std::string& real, Name& n);
    void on_shard_ready(const std::string& address);
    void on_shard_down(const std::string& address, const std::string& why);
    void on_shard_push(const std::string& address, const RedisValue& push);
    void on_reply(Shard& shard, const RedisValue& reply);
    void mark_lost(Name& n, const std::string& why);
    void became_active(const std::string& name, Name& n);
    void notify_if_subscribed(const std::string& channel);
    void retire_unused_shards();
    void maybe_ready();

    uv_loop_t* loop_;
    ClusterClient& client_;
    BackoffPolicy backoff_;
    std::string key_prefix_;
    Callbacks cb_;
    std::shared_ptr<LoopPost> post_;  // acquire/release from worker threads
    std::unordered_map<std::string, Name> names_;
    std::unordered_map<std::string, Channel> channels_;
    std::map<std::string, Shard> shards_;  // by "host:port"
    std::vector<std::shared_ptr<Retired>> retired_;
    size_t lost_ = 0;          // names with lost == true
    size_t active_ = 0;        // names in state Active
    void set_state(Name& n, NameState state);
    bool reported_ready_ = false;
    bool stopped_ = false;
};

}  // namespace sluice::broker
