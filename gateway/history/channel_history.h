// One channel's history: a bounded ring of encoded events with consecutive-ish
// positions, bounded by count, bytes and age. Pure (no libuv): time is passed in.
// The ring holds references: an event (with its SSE bytes) is built once per process
// and every loop's ring that holds it shares the same immutable object.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/core/shared_bytes.h"
#include "gateway/history/lazy_deque.h"

namespace sluice::history {

using Clock = std::chrono::steady_clock;

struct HistoryLimits {
    uint64_t max_events = 1000;
    uint64_t max_bytes = 16 << 20;
    std::chrono::milliseconds ttl = std::chrono::hours(1);
    // How long the channel's head outlives its last event (never below ttl); used by
    // the broker's process-wide head table, not by this ring.
    std::chrono::milliseconds positions_ttl = std::chrono::hours(24);
};

struct StoredEvent {
    uint64_t position = 0;
    SharedBytes encoded;     // SSE bytes ("id: ..\n...data: ..\n\n")
    std::string type;        // payload's JSON "type" ("" if none), for terminal checks
    Clock::time_point at;    // when it was appended (TTL)
};
// Immutable once built: shared by every loop (and every ring) that holds the event.
using StoredEventPtr = std::shared_ptr<const StoredEvent>;

class ChannelHistory {
  public:
    explicit ChannelHistory(const HistoryLimits& limits);

    // Appends an event. position must be > head(); a jump (position > head + 1) is
    // allowed and the missing positions are simply never held. Evicts by count and
    // bytes immediately. Returns the number of events evicted. An event with
    // position <= head() is ignored (returns 0). An event larger than max_bytes is evicted
    // at once: head() still moves to its position.
    size_t append(StoredEventPtr ev);
    size_t append(StoredEvent ev) { return append(std::make_shared<const StoredEvent>(std::move(ev))); }

    // Drops events older than ttl as of `now`. Returns the number evicted.
    size_t expire(Clock::time_point now);

    // Replace limits (e.g. after reload); evicts as needed.
    void set_limits(const HistoryLimits& limits);

    uint64_t head() const { return head_; }
    // The payload type of the event at head(), kept after that event itself has been
    // evicted (like the head): a channel that ended with a terminal event stays ended
    // when its history expires. "" when unknown (head set by advance_head, or untyped).
    const std::string& head_type() const { return head_type_; }
    // Oldest position held; head() + 1 when nothing is held.
    uint64_t oldest() const;
    bool empty() const { return events_.empty(); }
    size_t size() const { return events_.size(); }
    uint64_t bytes() const { return bytes_; }

    // The held event with the smallest position >= p, or nullptr if none.
    const StoredEvent* first_at_or_after(uint64_t p) const;
    // The newest event (nullptr if empty).
    const StoredEvent* newest() const;
    // The newest event's shared reference (nullptr if empty).
    const StoredEventPtr& newest_ref() const;
    // Every held event's shared reference, oldest first (no byte is copied).
    std::vector<StoredEventPtr> refs() const { return {events_.begin(), events_.end()}; }
    const HistoryLimits& limits() const { return limits_; }
    // Puts events older than oldest() in front (events sorted by position, all below
    // oldest()). Only the newest of them that fit the count and byte limits are kept.
    // Used when a broker supplies history a loop did not receive live. Returns the
    // number kept.
    size_t prepend_older(std::vector<StoredEventPtr> events);
    size_t prepend_older(std::vector<StoredEvent> events);
    // Forget everything, head included (the broker restarted the channel's positions).
    void reset();
    // Forget everything but keep head (used when a broker reports a reset).
    void clear();
    // Set head without an event (e.g. a broker reported the channel's position).
    void advance_head(uint64_t head);
    // The same, with the type of the event at `head` when it is known (a loop taking up
    // a channel whose terminal event has expired from the shared history).
    void advance_head(uint64_t head, const std::string& type);
    // Drops the oldest held event (head is kept, so its position is never reused).
    // Returns the bytes freed, 0 when nothing is held.
    uint64_t drop_oldest();

    // Every later change of bytes() is also applied to *ledger (the process's total over
    // every channel's shared history, for limits.max_history_bytes); nullptr detaches.
    // The caller owns the ledger and subtracts what is still held before it lets the
    // history go.
    void set_ledger(uint64_t* ledger) { ledger_ = ledger; }

  private:
    void evict_front();
    void add_bytes(uint64_t n);
    void sub_bytes(uint64_t n);
    HistoryLimits limits_;
    LazyDeque<StoredEventPtr> events_;  // nothing allocated while empty
    uint64_t head_ = 0;
    uint64_t bytes_ = 0;
    std::string head_type_;
    uint64_t* ledger_ = nullptr;
};

}  // namespace sluice::history
