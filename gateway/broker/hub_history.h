// The process's one copy of each channel's recent events, kept by the MemoryHub: a ring
// of shared, immutable events per channel (history::ChannelHistory), bounded by the
// route's count, bytes and TTL, and all together by limits.max_history_bytes. Loops
// read it when they take up a channel (a snapshot of references, no byte copies) and
// receive later events through their inboxes.
//
// Not thread-safe: the hub calls it under its lock. The TTL is applied incrementally:
// rings are indexed by the time their oldest event expires, so a pass looks only at the
// rings that are due.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/history/channel_history.h"

namespace sluice::broker {

// One channel's part of the shared history; lives in the hub's channel entry.
struct HistorySlot {
    std::unique_ptr<history::ChannelHistory> ring;  // created with the first event
    uint32_t limits_generation = 0;
    // Counted against limits.max_channels: from the moment an event is let through
    // until the ring is empty again.
    bool stored = false;
    bool busy = false;  // some loop has a reader on the channel
    std::list<HistorySlot*>* lru = nullptr;  // idle or busy list while the ring holds events
    std::list<HistorySlot*>::iterator lru_pos;
    bool indexed = false;  // in the TTL index
    std::multimap<history::Clock::time_point, HistorySlot*>::iterator expiry_pos;
};

class HubHistory {
  public:
    using LimitsFn = std::function<history::HistoryLimits(const std::string& channel)>;
    struct Stats {
        uint64_t bytes = 0;
        uint64_t evicted_limits = 0;  // by the route's count, bytes or TTL
        uint64_t evicted_idle = 0;    // budget: whole rings of channels nobody reads
        uint64_t evicted_oldest = 0;  // budget: oldest events of channels with readers
    };

    HubHistory() = default;
    HubHistory(const HubHistory&) = delete;
    HubHistory& operator=(const HubHistory&) = delete;

    // Limits per channel (a reload takes effect at each ring's next event).
    void set_limits(LimitsFn fn);
    // limits.max_history_bytes for the whole process (0 = none); lowering it evicts now.
    void set_budget(uint64_t bytes);

    // Marks the channel as holding events if it does or there is room under
    // max_channels; `force` admits even at the cap (a reset every loop must hear).
    bool admit(HistorySlot& slot, uint64_t max_channels, bool force = false);
    size_t stored_count() const { return stored_; }

    // Appends an event of the channel (position above the ring's head; else ignored)
    // and keeps the limits and the budget (never evicting this event for the budget).
    void append(HistorySlot& slot, const std::string& channel, const history::StoredEventPtr& ev);
    // Forgets the ring's events and head (the channel's positions start again).
    void reset(HistorySlot& slot);
    // The slot's events now, oldest first (expired ones dropped first); a reader used it.
    std::vector<history::StoredEventPtr> snapshot(HistorySlot& slot, history::Clock::time_point now);
    void set_busy(HistorySlot& slot, bool busy);
    // Drops events whose TTL has passed, looking only at rings that are due. Returns the
    // number dropped.
    size_t expire(history::Clock::time_point now);
    // Releases everything of a slot about to be destroyed.
    void forget(HistorySlot& slot);

    const Stats& stats() const { return stats_; }

  private:
    void sync(HistorySlot& slot);  // LRU list, TTL index and max_channels after a change
    void enforce_budget(HistorySlot* keep);
    void trim_oldest(HistorySlot& slot, size_t floor);

    LimitsFn limits_fn_;
    uint32_t limits_generation_ = 1;
    uint64_t budget_ = 0;
    size_t stored_ = 0;
    Stats stats_;
    std::list<HistorySlot*> idle_lru_;  // least recently used first
    std::list<HistorySlot*> busy_lru_;
    std::multimap<history::Clock::time_point, HistorySlot*> expiries_;
};

}  // namespace sluice::broker
