// Where the Redis broker's commands go: one Redis server (SingleRedisCommands, a
// RedisLink), or the master of each key's slot in a Redis Cluster (ClusterClient). The
// feed and the per-loop brokers talk to this interface only, so the same publishing,
// loading and repair logic serves both.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/broker/redis_link.h"

namespace sluice::broker {

class RedisCommands {
  public:
    struct Callbacks {
        // Commands can flow (again): after each (re)connect; in a cluster also after every
        // new slot map (masters may have changed).
        std::function<void()> on_ready;
        // The connection (standalone) was lost; commands fail or wait until on_ready.
        std::function<void(const std::string& why)> on_down;
    };
    // Reads may be sent again when the server for their key cannot be reached: in a
    // cluster they wait for a slot map that names a reachable master (a failover).
    // Writes (FCALL) are never repeated: the caller answers the error.
    enum class Retry { No, UntilSent };

    virtual ~RedisCommands() = default;
    virtual void start(Callbacks cb) = 0;
    // Closes every connection; pending commands fail first. done runs from a loop callback.
    virtual void stop(std::function<void()> done) = 0;
    virtual bool ready() const = 0;
    // argv about `key` (a key with the channel's hash tag). fn runs exactly once, with the
    // reply or an Error (kLinkDownError when it could not be sent or answered).
    virtual void send(const std::string& key, const std::vector<std::string>& argv,
                      RedisLink::ReplyFn fn, Retry retry = Retry::No) = 0;
    // argv on every server that runs sluice_publish (the server; each cluster master).
    // done gets the first error reply, or the last reply when all succeeded.
    virtual void on_every_master(const std::vector<std::string>& argv, RedisLink::ReplyFn done) = 0;
    // The server of `key` gave an answer that leaves our state unknown: drop its
    // connection, so its reconnect backoff paces what the owner does next.
    virtual void drop_connection(const std::string& key) = 0;
};

// One Redis server over one RedisLink (broker type `redis`).
class SingleRedisCommands final : public RedisCommands {
  public:
    SingleRedisCommands(uv_loop_t* loop, RedisEndpoint ep, BackoffPolicy backoff, std::string name);
    void start(Callbacks cb) override;
    void stop(std::function<void()> done) override { link_->stop(std::move(done)); }
    bool ready() const override { return link_->ready(); }
    void send(const std::string&, const std::vector<std::string>& argv, RedisLink::ReplyFn fn,
              Retry) override {
        link_->command(argv, std::move(fn));
    }
    void on_every_master(const std::vector<std::string>& argv, RedisLink::ReplyFn done) override {
        link_->command(argv, std::move(done));
    }
    void drop_connection(const std::string&) override { link_->drop_connection(); }

  private:
    uv_loop_t* loop_;
    RedisEndpoint ep_;
    BackoffPolicy backoff_;
    std::string name_;
    std::unique_ptr<RedisLink> link_;
};

}  // namespace sluice::broker
