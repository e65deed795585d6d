// A worker loop's end of the MemoryHub: a uv_async-driven inbox whose events (and
// readiness changes) are handed to the loop's broker::Listener in hub order. Both the
// memory and the redis broker receive through one of these.
#pragma once

#include <uv.h>

#include <functional>

#include "gateway/broker/broker.h"
#include "gateway/broker/memory_hub.h"

namespace sluice::broker {

class HubInbox {
  public:
    HubInbox(uv_loop_t* loop, MemoryHub& hub);
    ~HubInbox();
    HubInbox(const HubInbox&) = delete;
    HubInbox& operator=(const HubInbox&) = delete;

    void start(Listener& listener);
    // Detaches from the hub and closes the async handle; done runs after the close.
    void stop(std::function<void()> done);

    // Reads the channel's hub head and delivers everything already queued for this loop
    // in one step under the hub lock (see Broker::open_channel). Returns the head.
    uint64_t deliver_pending_and_head(const std::string& channel);

    // Publishes from this inbox's own loop: no wake-up, the loop takes the event in
    // drain_local() at the end of its turn.
    uint64_t publish_local(const std::string& channel, const std::string& payload,
                           const std::string& event);
    void drain_local();

    // This loop takes up a channel: events queued for it so far are handed to the
    // listener first, then the channel's head and shared history are returned, and its
    // later events come through this inbox (MemoryHub::hold).
    HeldChannel hold(const std::string& channel);
    void release(const std::string& channel) { hub_.release(channel, &inbox_); }

    MemoryHub& hub() { return hub_; }
    const MemoryHub& hub() const { return hub_; }

  private:
    void drain();
    void deliver(std::vector<MemoryHub::MessagePtr>& batch);

    uv_loop_t* loop_;
    MemoryHub& hub_;
    Listener* listener_ = nullptr;
    MemoryHub::Inbox inbox_;
    uv_async_t* async_ = nullptr;  // heap-owned; freed in its close callback
    bool attached_ = false;
    bool local_pending_ = false;
};

}  // namespace sluice::broker
