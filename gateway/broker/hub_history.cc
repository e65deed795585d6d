#include "gateway/broker/hub_history.h"

namespace sluice::broker {

void HubHistory::set_limits(LimitsFn fn) {
    limits_fn_ = std::move(fn);
    ++limits_generation_;
}

void HubHistory::set_budget(uint64_t bytes) {
    budget_ = bytes;
    enforce_budget(nullptr);
}

bool HubHistory::admit(HistorySlot& slot, uint64_t max_channels, bool force) {
    if (slot.stored) return true;
    if (!force && stored_ >= max_channels) return false;
    slot.stored = true;
    ++stored_;
    return true;
}

void HubHistory::append(HistorySlot& slot, const std::string& channel,
                        const history::StoredEventPtr& ev) {
    if (slot.limits_generation != limits_generation_) {
        history::HistoryLimits limits = limits_fn_ ? limits_fn_(channel) : history::HistoryLimits{};
        if (!slot.ring) {
            slot.ring = std::make_unique<history::ChannelHistory>(limits);
            slot.ring->set_ledger(&stats_.bytes);
        } else {
            size_t before = slot.ring->size();
            slot.ring->set_limits(limits);
            stats_.evicted_limits += before - slot.ring->size();
        }
        slot.limits_generation = limits_generation_;
    }
    stats_.evicted_limits += slot.ring->append(ev);
    bool kept = ev && slot.ring->newest_ref() == ev;
    if (kept && slot.lru) slot.lru->splice(slot.lru->end(), *slot.lru, slot.lru_pos);  // most recent
    sync(slot);
    enforce_budget(&slot);
}

void HubHistory::reset(HistorySlot& slot) {
    if (slot.ring) slot.ring->reset();
    sync(slot);
}

std::vector<history::StoredEventPtr> HubHistory::snapshot(HistorySlot& slot,
                                                          history::Clock::time_point now) {
    std::vector<history::StoredEventPtr> out;
    if (!slot.ring) return out;
    stats_.evicted_limits += slot.ring->expire(now);
    out = slot.ring->refs();
    if (slot.lru) slot.lru->splice(slot.lru->end(), *slot.lru, slot.lru_pos);
    sync(slot);
    return out;
}

void HubHistory::set_busy(HistorySlot& slot, bool busy) {
    if (slot.busy == busy) return;
    slot.busy = busy;
    sync(slot);
}

size_t HubHistory::expire(history::Clock::time_point now) {
    size_t dropped = 0;
    while (!expiries_.empty() && expiries_.begin()->first <= now) {
        HistorySlot* slot = expiries_.begin()->second;
        dropped += slot->ring->expire(now);
        sync(*slot);  // re-indexed at its new oldest event, or out of the index
    }
    stats_.evicted_limits += dropped;
    return dropped;
}

void HubHistory::forget(HistorySlot& slot) {
    if (slot.ring) slot.ring->clear();
    slot.busy = false;
    sync(slot);
    if (slot.ring) slot.ring->set_ledger(nullptr);
}

void HubHistory::sync(HistorySlot& slot) {
    bool holds = slot.ring && !slot.ring->empty();
    // LRU: idle or busy while it holds events; a slot that changes list is the most
    // recently used of the new one.
    std::list<HistorySlot*>* want = holds ? (slot.busy ? &busy_lru_ : &idle_lru_) : nullptr;
    if (want != slot.lru) {
        if (slot.lru) slot.lru->erase(slot.lru_pos);
        if (want) slot.lru_pos = want->insert(want->end(), &slot);
        slot.lru = want;
    }
    // TTL index: when the oldest event expires (events are in time order).
    if (slot.indexed) {
        expiries_.erase(slot.expiry_pos);
        slot.indexed = false;
    }
    if (holds) {
        const history::StoredEvent* oldest = slot.ring->first_at_or_after(0);
        slot.expiry_pos = expiries_.emplace(oldest->at + slot.ring->limits().ttl, &slot);
        slot.indexed = true;
    }
    // max_channels counts a channel until its ring is empty.
    if (slot.stored && !holds) {
        slot.stored = false;
        --stored_;
    }
}

void HubHistory::enforce_budget(HistorySlot* keep) {
    if (budget_ == 0 || stats_.bytes <= budget_) return;
    // 1. Whole rings of channels nobody reads, least recently used first. Their heads
    //    stay in the hub, so positions are never reused; a reader resuming into them
    //    later gets a gap (or a backfill from Redis).
    for (auto it = idle_lru_.begin(); it != idle_lru_.end() && stats_.bytes > budget_;) {
        HistorySlot* slot = *it++;  // advanced first: sync() unlists it
        if (slot == keep) continue;
        stats_.evicted_idle += slot->ring->size();
        slot->ring->clear();
        sync(*slot);
    }
    // 2. The oldest events of channels with readers (least recently used first), then of
    //    `keep`, whose newest event stays: a publish answered as stored is in history.
    for (auto it = busy_lru_.begin(); it != busy_lru_.end() && stats_.bytes > budget_;) {
        HistorySlot* slot = *it++;
        if (slot != keep) trim_oldest(*slot, 0);
    }
    if (keep && stats_.bytes > budget_) trim_oldest(*keep, 1);
}

void HubHistory::trim_oldest(HistorySlot& slot, size_t floor) {
    while (stats_.bytes > budget_ && slot.ring->size() > floor) {
        slot.ring->drop_oldest();
        ++stats_.evicted_oldest;
    }
    sync(slot);
}

}  // namespace sluice::broker
