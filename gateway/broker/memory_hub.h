// The process-wide fan-in of events: assigns channels' positions (memory broker, and
// plain Redis messages) or takes the positions Redis assigned (sequenced messages) under
// one mutex, and hands each event, in position order, to the inbox of every worker loop.
// Loops keep their own history copies; the hub keeps only each channel's head and how
// many loops currently hold the channel (so a head is forgotten only when no loop
// holds the channel any more and it has been idle).
//
// The hub is also where limits.max_channels is decided, because only it sees every event
// before any loop does: a channel "holds events" from the moment the hub lets an event
// through until every loop has reported its copy empty; an event for a new channel
// beyond the cap is refused here (an HTTP publish answers 503) or, when it comes from
// Redis, dropped, counted and logged with its position skipped (readers see a gap).
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

    // max_channels: how many channels may hold events at once in this process.
    explicit MemoryHub(std::chrono::milliseconds head_idle_ttl, uint64_t max_channels = UINT64_MAX);

    void attach(Inbox* inbox);
    void detach(Inbox* inbox);

    // What publish() does with an event for a new channel when max_channels channels
    // already hold events.
    enum class AtCap {
        Refuse,  // nothing happens: the caller answers that it was not stored (HTTP 503)
        Skip,    // the position is used up without an event (Redis PUBLISH): counted,
                 // logged, and seen by readers as a gap
    };
    // Assigns the channel's next position and queues the event on every inbox. The
    // inbox of the publishing loop itself (`self`) is not woken: that loop drains it at
    // the end of its current turn, which saves an eventfd round trip per publish.
    // Returns the position, or 0 when the channel limit kept the event out.
    uint64_t publish(const std::string& channel, const std::string& payload,
                     const std::string& event, Inbox* self = nullptr, AtCap at_cap = AtCap::Refuse);

    // Would an event for this channel be let through now (it holds events already, or
    // there is room for one more)? For publishers that must answer before the event
    // comes back through the hub (FCALL over Redis).
    bool admits(const std::string& channel);

    // Queues an event whose position was assigned elsewhere (Redis). Returns false (and
    // queues nothing) if position is not above the channel's head: a duplicate; or when
    // the channel limit keeps it out: then the head moves past it (counted, logged; the
    // event stays in Redis history and readers see a gap or a backfill).
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

    // A loop's copy of the channel holds no events any more; `head` is that copy's head
    // (a report older than the newest queued event is ignored: that event is on its way).
    void copy_emptied(const std::string& channel, const Inbox* inbox, uint64_t head);
    // A loop is about to keep events for the channel that did not come through the hub
    // (recent history read from Redis for a reader). False when the channel limit does
    // not allow it: the loop then keeps none (readers fetch them from Redis).
    bool adopt(const std::string& channel, const Inbox* inbox);

    void set_max_channels(uint64_t max_channels);
    // Channels holding events now (what max_channels counts).
    size_t stored_channels();
    // Events from Redis dropped because of max_channels.
    uint64_t dropped_at_cap() const { return dropped_at_cap_.load(std::memory_order_relaxed); }

    size_t channel_count();

  private:
    struct Head {
        uint64_t position = 0;
        int holders = 0;  // loops that hold local state for the channel
        bool sequenced = false;  // positions come from Redis
        std::chrono::steady_clock::time_point last_publish;
        // Channel limit bookkeeping: may some loop hold events of it, the last position
        // queued to the loops, and the loops that reported their copy empty since.
        bool stored = false;
        uint64_t last_queued = 0;
        std::vector<const Inbox*> emptied;
    };
    void maybe_forget(std::unordered_map<std::string, Head>::iterator it);
    // Marks the channel as holding events if it does or the cap allows; call with mutex_.
    bool admit_locked(Head& head);
    void note_dropped(const std::string& channel, uint64_t position);
    // Queues msg on every inbox; call with mutex_ held. Returns the inboxes to wake.
    std::vector<Inbox*> enqueue_locked(const MessagePtr& msg, Inbox* self = nullptr);
    static void wake(const std::vector<Inbox*>& inboxes);

    std::mutex mutex_;
    std::unordered_map<std::string, Head> heads_;
    std::vector<Inbox*> inboxes_;
    std::chrono::milliseconds head_idle_ttl_;
    std::atomic<bool> ready_{true};
    uint64_t max_channels_;
    size_t stored_channels_ = 0;  // heads with stored == true
    std::atomic<uint64_t> dropped_at_cap_{0};
};

}  // namespace sluice::broker
