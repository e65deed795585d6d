// The Broker interface: where events come from and where publishes go. One Broker per
// worker loop. `memory` (in-process) and `redis` both implement it, so nothing in sse/
// or app/ depends on which broker runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gateway/core/result.h"
#include "gateway/history/channel_history.h"

namespace sluice::broker {

// One event as the broker delivers it to a loop, positions already assigned; or, with
// readiness_changed, a control message in the same queue (so it keeps its order with
// the events): the broker's readiness changed, and the message carries nothing else.
struct Message {
    std::string channel;
    // The channel's handle in this process (MemoryHub: never reused, the same for as
    // long as any loop reads the channel): loops find their state by it, not by name.
    uint64_t channel_id = 0;
    uint64_t position = 0;
    std::string event;    // event name, "" for the default "message"
    std::string payload;
    // The channel's history was lost in the broker and positions started again: the loop
    // forgets its copy before taking this event.
    bool reset = false;
    bool readiness_changed = false;
    // The event as loops keep and send it (SSE bytes, payload type), built once for the
    // process by the hub's encoder and shared by every loop; nullptr without an encoder
    // (the loop then builds its own).
    history::StoredEventPtr stored;
};

// Implemented by the worker: called on the worker's loop thread only.
class Listener {
  public:
    virtual void on_broker_message(const Message& msg) = 0;
    virtual void on_broker_ready(bool ready) = 0;

  protected:
    virtual ~Listener() = default;
};

// What a broker knows about a channel the loop is about to hold: its head and the most
// recent events it still has (oldest first). Empty for a channel it has never seen.
struct ChannelSeed {
    uint64_t head = 0;
    std::vector<Message> recent;
};

// What the process holds of a channel when a loop takes it up: its head and its shared
// recent events, oldest first.
struct HeldChannel {
    uint64_t id = 0;        // the handle its events carry (Message::channel_id)
    uint64_t head = 0;
    std::string head_type;  // payload type of the event at head, when known
    std::vector<history::StoredEventPtr> events;
};

class Broker {
  public:
    virtual ~Broker() = default;

    // Starts delivering to listener (on the loop thread). Called once.
    virtual void start(Listener& listener) = 0;
    // Stops delivery and closes every handle; `done` runs when the loop may finish.
    virtual void stop(std::function<void()> done) = 0;

    // Called by the loop once per turn, before it writes what the turn queued: a broker
    // that defers work to the end of the turn does it here.
    virtual void on_loop_turn() {}

    // True when events flow and publishes can be accepted.
    virtual bool ready() const = 0;

    using PublishCallback = std::function<void(Result<uint64_t> position)>;
    // Publishes and reports the assigned position. May call back synchronously.
    virtual void publish(const std::string& channel, const std::string& payload,
                         const std::string& event, PublishCallback cb) = 0;

    // The loop is about to create its state for a channel because a client asked for
    // it. Every event up to the reported head that the broker already queued for this
    // loop is delivered (on_broker_message) before cb runs, so local history and head
    // agree. May call back synchronously (memory) or later (redis): the worker calls it
    // only from a deferred call, so its callers never see cb inside their own call.
    virtual void open_channel(const std::string& channel, std::function<void(ChannelSeed)> cb) = 0;
    // True when open_channel always calls back synchronously (the channel is at hand).
    virtual bool opens_at_once() const { return false; }
    // True when the process already follows the channel, so a loop's state for it can be
    // made from the shared history now (channel_opened), without open_channel.
    virtual bool follows(const std::string& /*channel*/) { return opens_at_once(); }

    // Events from..to (inclusive) that the broker still holds, oldest first, for a
    // client resuming before the loop's local history. Memory holds none.
    virtual bool keeps_history() const = 0;
    virtual void fetch_range(const std::string& channel, uint64_t from, uint64_t to,
                             std::function<void(std::vector<Message>)> cb) = 0;

    // The loop creates its state for a channel (for its readers): from now on the
    // channel's events are delivered to this loop, and none before. Events already queued
    // for the loop are delivered (on_broker_message) before this returns, then the
    // channel's head and the process's shared history of it are returned (references
    // to immutable events): the two meet with nothing lost or doubled.
    virtual HeldChannel channel_opened(const std::string& channel) = 0;
    // The loop dropped its state for the channel (its last reader left).
    virtual void channel_closed(const std::string& channel) = 0;

    // May the loop keep events of this channel that it read from the broker for a
    // reader (ChannelSeed::recent)? False at the channel limit: it then keeps none.
    virtual bool may_keep_history(const std::string& /*channel*/) { return true; }
    // Called about once a second by one loop: the shared history's TTL.
    virtual void on_sweep() {}

    virtual const char* kind() const = 0;
};

}  // namespace sluice::broker
