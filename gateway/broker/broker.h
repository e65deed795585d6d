// The Broker interface: where events come from and where publishes go. One Broker per
// worker loop (share-nothing). `memory` (in-process) lands with the core; `redis`
// implements the same interface, so nothing in sse/ or app/ changes with the broker.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "gateway/core/result.h"

namespace sluice::broker {

// One event as the broker delivers it to a loop, positions already assigned.
struct Message {
    std::string channel;
    uint64_t position = 0;
    std::string event;    // event name, "" for the default "message"
    std::string payload;
};

// Implemented by the worker: called on the worker's loop thread only.
class Listener {
  public:
    virtual void on_broker_message(const Message& msg) = 0;
    virtual void on_broker_ready(bool ready) = 0;

  protected:
    virtual ~Listener() = default;
};

class Broker {
  public:
    virtual ~Broker() = default;

    // Starts delivering to listener (on the loop thread). Called once.
    virtual void start(Listener& listener) = 0;
    // Stops delivery and closes every handle; the loop can then finish.
    virtual void stop() = 0;

    // True when events flow and publishes can be accepted.
    virtual bool ready() const = 0;

    using PublishCallback = std::function<void(Result<uint64_t> position)>;
    // Publishes and reports the assigned position. May call back synchronously.
    virtual void publish(const std::string& channel, const std::string& payload,
                         const std::string& event, PublishCallback cb) = 0;

    // The loop is about to create its local state for a channel because a client asked
    // for it. Returns the channel's current head if the broker knows it, after making
    // sure every event up to that head has been delivered to this loop (so history and
    // head agree). nullopt: unknown, start from whatever arrives.
    virtual std::optional<uint64_t> prepare_channel(const std::string& channel) = 0;

    // The loop created / dropped its local state for a channel.
    virtual void channel_opened(const std::string& channel) = 0;
    virtual void channel_closed(const std::string& channel) = 0;

    virtual const char* kind() const = 0;
};

}  // namespace sluice::broker
