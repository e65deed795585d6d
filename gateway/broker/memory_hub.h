// The process-wide fan-in of events: assigns channels' positions (memory broker, and
// plain Redis messages) or takes the positions Redis assigned (sequenced messages) under
// one mutex, and hands each event, in position order, to the inbox of every worker loop.
// Loops keep their own history copies; the hub keeps only each channel's head: its last
// position and when it expires, positions_ttl after the channel's last event, whether or
// not loops still hold the channel. Until then the count continues, so a position is
// never reused (issue 8); after it, the count starts again at 1, and that first event is
// marked as a reset (when the expired head is still in the table) so loops still holding
// the old positions forget them.
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
    using Clock = std::chrono::steady_clock;
    using Millis = std::chrono::milliseconds;
    // positions_ttl of a channel. Called under the hub lock from any thread: it must be
    // thread-safe and must not call back into the hub.
    using TtlFn = std::function<Millis(const std::string& channel)>;
    using NowFn = std::function<Clock::time_point()>;  // tests pass a fake clock

    // An inbox belongs to one loop. `wake` must be thread-safe (uv_async_send).
    struct Inbox {
        std::mutex mutex;
        std::vector<MessagePtr> queue;
        std::function<void()> wake;
    };

    explicit MemoryHub(Millis positions_ttl = std::chrono::hours(24), NowFn now = nullptr);

    // Replaces the per-channel positions_ttl (config load and reload). A head takes the
    // new value at its next event.
    void set_positions_ttl(TtlFn fn);

    void attach(Inbox* inbox);
    void detach(Inbox* inbox);

    // Assigns the channel's next position and queues the event on every inbox. The
    // inbox of the publishing loop itself (`self`) is not woken: that loop drains it at
    // the end of its current turn, which saves an eventfd round trip per publish.
    // Returns 0 (and queues nothing) when the head is at kMaxPosition.
    uint64_t publish(const std::string& channel, const std::string& payload,
                     const std::string& event, Inbox* self = nullptr);

    // Queues an event whose position was assigned elsewhere (Redis). Returns false (and
    // queues nothing) if position is not above the channel's head (a duplicate) or is
    // out of range.
    bool deliver_sequenced(const std::string& channel, uint64_t position,
                           const std::string& payload, const std::string& event);

    // A sequenced event was dropped (bad payload): move the head past it without
    // delivering anything, so later events are not taken for a jump to repair. Loops see
    // the hole and report it to clients as a gap.
    void skip_sequenced(const std::string& channel, uint64_t position);
    // Redis lost a sequenced channel and started again at position 1 with this event.
    void reset_sequenced(const std::string& channel, const std::string& payload,
                         const std::string& event);

    // The head the hub knows for a channel (0 = none, or expired).
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

    // Forgets every expired head now. Expired heads are also forgotten a few at a time
    // whenever a new head is created, so the table stays bounded without a timer; this
    // full pass is for tests. Returns the number forgotten.
    size_t sweep();

    size_t channel_count();

  private:
    // One channel with no events held here: name (the map key), head, expiry.
    struct Head {
        uint64_t position = 0;
        Clock::time_point expires;
        Millis ttl{0};
        uint32_t ttl_generation = 0;  // ttl_fn_ generation the ttl was taken from
        bool sequenced = false;       // positions come from Redis
    };
    using Heads = std::unordered_map<std::string, Head>;

    Clock::time_point now() const { return now_ ? now_() : Clock::now(); }
    // The channel's live head, or nullptr (none, or expired).
    Head* find_locked(const std::string& channel, Clock::time_point now);
    // The live head, created at position 0 if there is none. *restarted is set when an
    // expired head was found and started over: the count is known to begin again.
    Head& get_locked(const std::string& channel, Clock::time_point now, bool* restarted = nullptr);
    // The channel had an event (or Redis vouched for its head): keep it positions_ttl.
    void touch_locked(const std::string& channel, Head& head, Clock::time_point now);
    void sweep_some_locked(Clock::time_point now);
    // Queues msg on every inbox; call with mutex_ held. Returns the inboxes to wake.
    std::vector<Inbox*> enqueue_locked(const MessagePtr& msg, Inbox* self = nullptr);
    static void wake(const std::vector<Inbox*>& inboxes);

    std::mutex mutex_;
    Heads heads_;
    size_t sweep_cursor_ = 0;  // next bucket the incremental sweep looks at
    std::vector<Inbox*> inboxes_;
    Millis default_ttl_;
    TtlFn ttl_fn_;
    uint32_t ttl_generation_ = 1;
    NowFn now_;
    std::atomic<bool> ready_{true};
};

}  // namespace sluice::broker
