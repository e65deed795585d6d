// The memory broker, one per worker loop: publishing goes straight to the process-wide
// MemoryHub (which assigns the position at once); delivery to this loop, including this
// loop's own publishes, comes through the loop's HubInbox on the next loop turn.
#pragma once

#include <uv.h>

#include "gateway/broker/broker.h"
#include "gateway/broker/hub_inbox.h"

namespace sluice::broker {

class MemoryBroker final : public Broker {
  public:
    MemoryBroker(uv_loop_t* loop, MemoryHub& hub) : inbox_(loop, hub) {}

    void start(Listener& listener) override {
        inbox_.start(listener);
        listener.on_broker_ready(true);
    }
    void stop(std::function<void()> done) override { inbox_.stop(std::move(done)); }
    bool ready() const override { return true; }
    void on_loop_turn() override { inbox_.drain_local(); }
    void publish(const std::string& channel, const std::string& payload,
                 const std::string& event, PublishCallback cb) override {
        uint64_t position = inbox_.publish_local(channel, payload, event);
        if (position == 0) {
            // 0 means one of two refusals; the channel limit is the common one.
            if (!inbox_.hub().admits(channel))
                cb(Result<uint64_t>(Error{Errc::Overloaded, "channel limit reached"}));
            else
                cb(Result<uint64_t>(Error{Errc::Unavailable, "channel has no positions left"}));
            return;
        }
        cb(Result<uint64_t>(position));
    }
    // The loop's state for the channel is made from the hub's shared history and head
    // (channel_opened): nothing more to load.
    void open_channel(const std::string&, std::function<void(ChannelSeed)> cb) override {
        cb(ChannelSeed{});
    }
    bool opens_at_once() const override { return true; }
    bool keeps_history() const override { return false; }
    void fetch_range(const std::string&, uint64_t, uint64_t,
                     std::function<void(std::vector<Message>)> cb) override {
        cb({});
    }
    HeldChannel channel_opened(const std::string& channel) override { return inbox_.hold(channel); }
    void channel_closed(const std::string& channel) override { inbox_.release(channel); }
    void on_sweep() override { inbox_.hub().expire_history(); }
    const char* kind() const override { return "memory"; }

  private:
    HubInbox inbox_;
};

}  // namespace sluice::broker
