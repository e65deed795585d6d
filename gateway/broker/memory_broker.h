// The per-loop half of the memory broker: a uv_async-driven inbox fed by MemoryHub.
// Publishing is synchronous (the hub assigns the position at once); delivery to this
// loop, including this loop's own publishes, happens on the next loop turn.
#pragma once

#include <uv.h>

#include <memory>

#include "gateway/broker/broker.h"
#include "gateway/broker/memory_hub.h"

namespace sluice::broker {

class MemoryBroker final : public Broker {
  public:
    MemoryBroker(uv_loop_t* loop, MemoryHub& hub);
    ~MemoryBroker() override;

    void start(Listener& listener) override;
    void stop() override;
    bool ready() const override { return true; }
    void publish(const std::string& channel, const std::string& payload,
                 const std::string& event, PublishCallback cb) override;
    std::optional<uint64_t> prepare_channel(const std::string& channel) override;
    void channel_opened(const std::string& channel) override { hub_.channel_opened(channel); }
    void channel_closed(const std::string& channel) override { hub_.channel_closed(channel); }
    const char* kind() const override { return "memory"; }

  private:
    void drain();
    void deliver(std::vector<MemoryHub::MessagePtr>& batch);

    uv_loop_t* loop_;
    MemoryHub& hub_;
    Listener* listener_ = nullptr;
    MemoryHub::Inbox inbox_;
    uv_async_t* async_ = nullptr;  // heap-owned; freed in its close callback
    bool attached_ = false;
};

}  // namespace sluice::broker
