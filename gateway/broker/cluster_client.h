// ClusterClient: commands to a Redis Cluster from one loop. It reads the slot map
// (CLUSTER SLOTS) from the seed nodes and then from any node it knows, keeps one command
// link per master it talks to, follows MOVED (correcting the map and reading it again)
// and ASK, and parks reads for a slot whose master cannot be reached until a newer map
// names one that can (a failover). The map is read again every `refresh_every`, after a
// redirection and while anything is parked. Loop thread only; nothing blocks.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/broker/cluster_slots.h"
#include "gateway/broker/redis_commands.h"
#include "gateway/core/lifetime.h"

namespace sluice::broker {

class ClusterClient final : public RedisCommands {
  public:
    struct Options {
        std::vector<RedisEndpoint> seeds;  // credentials of the first apply to every node
        BackoffPolicy backoff;
        std::string name;                  // links are named <name>@host:port
        std::chrono::milliseconds refresh_every{5000};
    };

    ClusterClient(uv_loop_t* loop, Options opts);
    ~ClusterClient() override;

    void start(Callbacks cb) override;
    void stop(std::function<void()> done) override;
    // A slot map has been read.
    bool ready() const override { return !map_.empty(); }
    void send(const std::string& key, const std::vector<std::string>& argv, RedisLink::ReplyFn fn,
              Retry retry = Retry::No) override;
    void on_every_master(const std::vector<std::string>& argv, RedisLink::ReplyFn done) override;
    void drop_connection(const std::string& key) override;

    const SlotMap& map() const { return map_; }
    // After every slot map read (changed or not), after on_ready: the sharded
    // subscription settles its channels on the masters the map names.
    void set_on_map_read(std::function<void(bool changed)> fn) { on_map_read_ = std::move(fn); }
    // Reads the map again soon (one read at a time; a new map fires on_ready).
    void refresh();
    // The endpoint for a node, with the seeds' credentials.
    RedisEndpoint endpoint(const ClusterNode& node) const;

  private:
    friend struct ClusterClientTimer;  // the timer trampoline in cluster_client.cc
    struct Request {
        std::string key;
        std::vector<std::string> argv;
        RedisLink::ReplyFn fn;
        Retry retry = Retry::No;
        int redirects = 0;
    };
    using RequestPtr = std::shared_ptr<Request>;
    struct Node {
        ClusterNode where;
        std::unique_ptr<RedisLink> link;
        std::vector<std::function<void()>> waiting;  // sends queued until the link is up
    };
    // A link of a node that is no master any more, until its stop() completes.
    struct Retired {
        std::unique_ptr<RedisLink> link;
        bool closed = false;
    };

    // The node's link, made and started on first use; nullptr after stop().
    Node* node(const ClusterNode& n);
    void dispatch(const RequestPtr& req);
    void send_to(const RequestPtr& req, const ClusterNode& target, bool asking);
    void on_reply(const RequestPtr& req, const RedisValue& reply);
    void park(const RequestPtr& req);
    void resend_parked();
    void on_node_ready(const std::string& address);
    void on_node_down(const std::string& address);
    void read_map();
    void on_map_reply(const ClusterNode& asked, const RedisValue& reply);
    void retire_unused();
    void sweep_retired();
    void arm_timer(std::chrono::milliseconds in);
    void on_timer();

    uv_loop_t* loop_;
    Options opts_;
    Callbacks cb_;
    std::function<void(bool)> on_map_read_;
    std::map<std::string, Node> nodes_;  // by "host:port"
    std::vector<std::shared_ptr<Retired>> retired_;
    std::vector<RequestPtr> parked_;
    SlotMap map_;
    bool reading_map_ = false;
    bool map_wanted_ = false;
    bool stopped_ = false;
    uv_timer_t* timer_ = nullptr;  // heap-owned; freed in its close callback
    Lifetime life_;
};

}  // namespace sluice::broker
