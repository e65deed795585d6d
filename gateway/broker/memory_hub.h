// The process-wide fan-in of events: assigns channels' positions (memory broker, and
// plain Redis messages) or takes the positions Redis assigned (sequenced messages) under
// one mutex, and hands each event, in position order, to the inbox of every worker loop.
// Loops keep their own history copies; the hub keeps only each channel's head and how
// many loops currently hold the channel (so a head is forgotten only when no loop
// holds the channel any more and it has been idle).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/broker/broker.h"

namespace sluice::broker {

class MemoryHub {
  public:
    using MessagePtr = std::shared_ptr<const Message>;

    // An inbox belongs to one loop. `wake` must be thread-safe (uv_async_send).
    struct Inbox {
        std::mutex mutex;
        std::vector<MessagePtr> queue;
        std::function<void()> wake;
    };

    explicit MemoryHub(std::chrono::milliseconds head_idle_ttl);

    void attach(Inbox* inbox);
    void detach(Inbox* inbox);

    // Assigns the channel's next position and queues the event on every inbox. The
    // inbox of the publishing loop itself (`self`) is not woken: that loop drains it at
    // the end of its current turn, which saves an eventfd round trip per publish.
    uint64_t publish(const std::string& channel, const std::string& payload,
                     const std::string& event, Inbox* self = nullptr);

    // Queues an event whose position was assigned elsewhere (Redis). Returns false (and
    // queues nothing) if position is not above the channel's head: a duplicate.
    bool deliver_sequenced(const std::string& channel, uint64_t position,
                           const std::string& payload, const std::string& event);

    // A sequenced event was dropped (bad payload): move the head past it without
    // delivering anything, so later events are not taken for a jump to repair. Loops see
    // the hole and report it to clients as a gap.
    void skip_sequenced(const std::string& channel, uint64_t position);
    // Redis lost a sequenced channel and started again at position 1 with this event.
    void reset_sequenced(const std::string& channel, const std::string& payload,
                         const std::string& event);

    // The head the hub knows for a channel (0 = none).
    uint64_t head(const std::string& channel);
    // A loop learned a channel's head from Redis history: remember it (as sequenced) so
    // catch-up and jump detection know where the channel stands.
    void note_sequenced_head(const std::string& channel, uint64_t head);
    // Channels whose positions come from Redis, with their heads (for catch-up).
    std::vector<std::pair<std::string, uint64_t>> sequenced_heads();

    // Readiness of the event source. A change is queued to every inbox as a control
    // message (empty channel), in order with the events around it.
    void set_ready(bool ready);
    bool ready() const { return ready_.load(std::memory_order_acquire); }

    // Runs fn(head) under the hub lock, so no publish can interleave; head is 0 for an
    // unknown channel. Used to seed a loop's new channel consistently with its inbox.
    void with_head(const std::string& channel, const std::function<void(uint64_t)>& fn);

    void channel_opened(const std::string& channel);
    void channel_closed(const std::string& channel);

    size_t channel_count();

  private:
    struct Head {
        uint64_t position = 0;
        int holders = 0;  // loops that hold local state for the channel
        bool sequenced = false;  // positions come from Redis
        std::chrono::steady_clock::time_point last_publish;
    };
    void maybe_forget(std::unordered_map<std::string, Head>::iterator it);
    // Queues msg on every inbox; call with mutex_ held. Returns the inboxes to wake.
    std::vector<Inbox*> enqueue_locked(const MessagePtr& msg, Inbox* self = nullptr);
    static void wake(const std::vector<Inbox*>& inboxes);

    std::mutex mutex_;
    std::unordered_map<std::string, Head> heads_;
    std::vector<Inbox*> inboxes_;
    std::chrono::milliseconds head_idle_ttl_;
    std::atomic<bool> ready_{true};
};

}  // namespace sluice::broker
