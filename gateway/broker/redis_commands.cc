#include "gateway/broker/redis_commands.h"

namespace sluice::broker {

SingleRedisCommands::SingleRedisCommands(uv_loop_t* loop, RedisEndpoint ep, BackoffPolicy backoff,
                                         std::string name)
    : loop_(loop), ep_(std::move(ep)), backoff_(backoff), name_(std::move(name)) {
    // Made here so stop() works even when start() never ran.
    link_ = std::make_unique<RedisLink>(loop_, ep_, backoff_, name_, RedisLink::Callbacks{});
}

void SingleRedisCommands::start(Callbacks cb) {
    RedisLink::Callbacks lcb;
    lcb.on_ready = std::move(cb.on_ready);
    lcb.on_down = std::move(cb.on_down);
    link_ = std::make_unique<RedisLink>(loop_, ep_, backoff_, name_, std::move(lcb));
    link_->start();
}

}  // namespace sluice::broker
