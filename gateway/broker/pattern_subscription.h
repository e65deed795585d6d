// The feed's subscription on one Redis: PSUBSCRIBE to every route's channel pattern and
// to its sequenced twin (<prefix>seq:<pattern>) on one subscriber link, again after every
// reconnect. Ready once Redis acknowledged every pattern.
#pragma once

#include <uv.h>

#include <memory>

#include "gateway/broker/feed_subscription.h"
#include "gateway/broker/redis_link.h"

namespace sluice::broker {

class PatternSubscription final : public FeedSubscription {
  public:
    PatternSubscription(uv_loop_t* loop, RedisEndpoint ep, BackoffPolicy backoff,
                        std::string key_prefix, std::vector<std::string> patterns);

    void start(Callbacks cb) override;
    void stop(std::function<void()> done) override { link_->stop(std::move(done)); }
    bool ready() const override;
    void set_patterns(std::vector<std::string> patterns) override;
    size_t count() const override { return patterns_.size() + seq_patterns_.size(); }

  private:
    void on_link_ready();
    void on_push(const RedisValue& push);

    uv_loop_t* loop_;
    RedisEndpoint ep_;
    BackoffPolicy backoff_;
    std::string key_prefix_;
    std::vector<std::string> patterns_;      // the routes' channel patterns
    std::vector<std::string> seq_patterns_;  // sequenced_pattern() of each
    Callbacks cb_;
    std::unique_ptr<RedisLink> link_;
    size_t acked_ = 0;  // PSUBSCRIBE acks since the last connect (both kinds)
};

}  // namespace sluice::broker
