// Which channels the process's loops hold, told to the feed of a Redis Cluster broker:
// sharded pub/sub has no patterns, so the feed subscribes to exactly these channels.
// Worker loops call it from their own threads; the feed applies the calls on its loop.
#pragma once

#include <functional>
#include <string>

namespace sluice::broker {

class ChannelInterest {
  public:
    // Called on the feed's loop thread once the channel's subscriptions are in place (at
    // once if they already are): post to your own loop from it.
    using Subscribed = std::function<void()>;
    // Any thread. Each acquire is matched by one release.
    virtual void acquire(const std::string& channel, Subscribed when_subscribed) = 0;
    virtual void release(const std::string& channel) = 0;

  protected:
    virtual ~ChannelInterest() = default;
};

}  // namespace sluice::broker
