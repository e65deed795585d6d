// The process-wide fan-in of events: assigns channels' positions (memory broker, and
// plain Redis messages) or takes the positions Redis assigned (sequenced messages) under
// one mutex, stores each event once for the process (HubHistory: encoded once, shared,
// immutable) and hands it, in position order, to the inboxes of the loops that read its
// channel (hold/release), and to no other.
//
// Each channel's head (its last position) lives positions_ttl after the channel's last
// event, whether or not loops read the channel. Until then the count continues, so a
// position is never reused (issue 8); after it, the count starts again at 1, and that
// first event is marked as a reset (when the expired head is still in the table) so
// loops still holding the old positions forget them.
//
// The hub is also where limits.max_channels is decided, because only it sees every event
// before any loop does: a channel "holds events" from the moment the hub lets an event
// through until its shared history is empty; an event for a new channel beyond the cap
// is refused here (an HTTP publish answers 503) or, when it comes from Redis, dropped,
// counted and logged with its position skipped (readers see a gap).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/broker/broker.h"
#include "gateway/broker/hub_history.h"

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

    // Builds the stored form of an event (its SSE bytes and payload type) once for the
    // whole process. Called under the hub lock from any thread: thread-safe, no calls
    // back into the hub.
    using EncodeFn = std::function<history::StoredEventPtr(const Message&)>;

    explicit MemoryHub(Millis positions_ttl = std::chrono::hours(24), NowFn now = nullptr);

    // Set once before any loop attaches (the hub never encodes without it: tests).
    void set_encoder(EncodeFn fn);

    // Replaces the per-channel positions_ttl (config load and reload). A head takes the
    // new value at its next event.
    void set_positions_ttl(TtlFn fn);

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
    // Returns the position; 0 (and queues nothing) when the head is at kMaxPosition or
    // the channel limit kept the event out (see at_capacity()).
    uint64_t publish(const std::string& channel, const std::string& payload,
                     const std::string& event, Inbox* self = nullptr, AtCap at_cap = AtCap::Refuse);

    // Would an event for this channel be let through now (it holds events already, or
    // there is room for one more)? For publishers that must answer before the event
    // comes back through the hub (FCALL over Redis), and to tell why publish() gave 0.
    bool admits(const std::string& channel);

    // Queues an event whose position was assigned elsewhere (Redis). Returns false (and
    // queues nothing) if position is not above the channel's head (a duplicate), is out of
    // range, or the channel limit keeps it out: then the head moves past it (counted,
    // logged; the event stays in Redis history and readers see a gap or a backfill).
    bool deliver_sequenced(const std::string& channel, uint64_t position,
                           const std::string& payload, const std::string& event);

    // A sequenced event was dropped (bad payload): move the head past it without
    // delivering anything, so later events are not taken for a jump to repair. Loops see
    // the hole and report it to clients as a gap.
    void skip_sequenced(const std::string& channel, uint64_t position);
    // Redis lost a sequenced channel and started again at position 1 with this event.
    void reset_sequenced(const std::string& channel, const std::string& payload,
                         const std::string& event);
    // Redis no longer holds the event the hub delivered at the channel's head (a master
    // died before its replica had it, and the count may go on from an earlier position):
    // the channel starts over from what Redis holds now, `events` in position order.
    // The first event delivered from here on is marked reset, so loops forget their copy
    // and readers get the reset gap instead of a silent hole.
    void rewind_sequenced(const std::string& channel, const std::vector<Message>& events);
    // The head and the digest of the event delivered at it (0: not known).
    std::pair<uint64_t, uint64_t> sequenced_tip(const std::string& channel);
    // What sequenced_tip() compares: a digest of an event's name and payload (never 0).
    static uint64_t event_digest(std::string_view event, std::string_view payload);

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

    // A loop takes up a channel (its first reader): from now on the channel's events are
    // queued to `inbox`. In the same step, under the hub lock, it gets what was queued
    // for it so far (`pending`, to hand to its listener first), the channel's head and
    // the shared history (references, no byte copies): nothing is lost or doubled
    // between the snapshot and the live events. Holding twice is holding once.
    struct Held {
        std::vector<MessagePtr> pending;
        uint64_t id = 0;  // the channel's handle: every event queued from now on carries it
        uint64_t head = 0;
        std::string head_type;  // payload type of the event at head, if known (terminal)
        std::vector<history::StoredEventPtr> events;
    };
    Held hold(const std::string& channel, Inbox* inbox);
    // The loop's last reader of the channel left: no more of its events are queued there.
    void release(const std::string& channel, const Inbox* inbox);

    // Shared history: per-channel limits (called under the hub lock: thread-safe, no
    // calls into the hub), the process budget (limits.max_history_bytes), the TTL
    // (incremental: only rings that are due) and figures for the metrics.
    void set_history_limits(HubHistory::LimitsFn fn);
    void set_history_budget(uint64_t bytes);
    size_t expire_history(history::Clock::time_point now = history::Clock::now());
    HubHistory::Stats history_stats();

    void set_max_channels(uint64_t max_channels);
    // Channels holding events now (what max_channels counts).
    size_t stored_channels();
    // Events from Redis dropped because of max_channels.
    uint64_t dropped_at_cap() const { return dropped_at_cap_.load(std::memory_order_relaxed); }
    // Events passed on to the loops, each counted once (not once per loop).
    uint64_t events_received() const { return events_received_.load(std::memory_order_relaxed); }

  private:
    // One channel with no events held here: name (the map key), head, expiry.
    struct Head {
        // The channel's handle, carried by its events (Message::channel_id). Never
        // reused, and never changed while loops read the channel (a head with interest
        // is not erased; a restart happens in place), so a loop can key on it.
        uint64_t id = 0;
        uint64_t position = 0;
        Clock::time_point expires;
        Millis ttl{0};
        uint32_t ttl_generation = 0;  // ttl_fn_ generation the ttl was taken from
        bool sequenced = false;       // positions come from Redis
        uint64_t tip_digest = 0;      // event_digest of the event at `position`, 0: unknown
        bool reset_next = false;      // rewound: the next event delivered is a reset
        HistorySlot history;          // the channel's shared events (and max_channels)
        std::vector<Inbox*> interest; // loops reading the channel: its events go there
    };
    using Heads = std::unordered_map<std::string, Head>;

    Clock::time_point now() const { return now_ ? now_() : Clock::now(); }
    // The channel's live head, or nullptr (none, or expired).
    Head* find_locked(const std::string& channel, Clock::time_point now);
    // The channel's entry, live or expired, created (position 0, a new id) if missing.
    Head& entry_locked(const std::string& channel);
    // The live head, created at position 0 if there is none. *restarted is set when an
    // expired head was found and started over: the count is known to begin again.
    Head& get_locked(const std::string& channel, Clock::time_point now, bool* restarted = nullptr);
    // The channel had an event (or Redis vouched for its head): keep it positions_ttl.
    void touch_locked(const std::string& channel, Head& head, Clock::time_point now);
    void sweep_some_locked(Clock::time_point now);
    // Forgets a head (expired), keeping the count of channels that hold events right.
    void erase_locked(Heads::iterator it);
    // The count starts again at the next event (positions_ttl passed).
    void restart_locked(Head& head);
    static bool expired_erasable(const Head& head, Clock::time_point now);
    // Marks the channel as holding events if it does or the cap allows; call with mutex_.
    bool admit_locked(Head& head);
    void note_dropped(const std::string& channel, uint64_t position);
    // deliver_sequenced under the lock; false if not queued (*dropped: the channel limit).
    bool deliver_locked(const std::string& channel, Head& head, bool restarted, uint64_t position,
                        const std::string& payload, const std::string& event,
                        std::vector<Inbox*>& to_wake, bool* dropped);
    // Queues msg on every inbox; call with mutex_ held. Returns the inboxes to wake.
    std::vector<Inbox*> enqueue_locked(const MessagePtr& msg, Inbox* self = nullptr);
    std::vector<Inbox*> enqueue_to_locked(const std::vector<Inbox*>& inboxes, const MessagePtr& msg,
                                          Inbox* self);
    // An event of the channel: into its shared history, and to the loops reading it.
    std::vector<Inbox*> deliver_event_locked(Head& head, const MessagePtr& msg, Inbox* self = nullptr);
    // The message every loop receives, its stored form built once here.
    MessagePtr build_locked(const Head& head, Message m) const;
    static void wake(const std::vector<Inbox*>& inboxes);

    std::mutex mutex_;
    Heads heads_;
    size_t sweep_cursor_ = 0;  // next bucket the incremental sweep looks at
    uint64_t next_id_ = 1;     // Head::id of the next entry made
    std::vector<Inbox*> inboxes_;
    Millis default_ttl_;
    TtlFn ttl_fn_;
    uint32_t ttl_generation_ = 1;
    NowFn now_;
    EncodeFn encoder_;
    std::atomic<bool> ready_{true};
    uint64_t max_channels_ = UINT64_MAX;
    HubHistory history_;
    std::atomic<uint64_t> dropped_at_cap_{0};
    std::atomic<uint64_t> events_received_{0};
};

}  // namespace sluice::broker
