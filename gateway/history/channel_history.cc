// One channel's bounded history. Eviction is always from the front: events are appended
// in position (and time) order, so the oldest by position is also the oldest by age.
#include "gateway/history/channel_history.h"

#include <algorithm>

namespace sluice::history {

namespace {

uint64_t size_of(const StoredEvent& ev) { return ev.encoded ? ev.encoded->size() : 0; }
uint64_t size_of(const StoredEventPtr& ev) { return ev ? size_of(*ev) : 0; }
const StoredEventPtr kNone;

}  // namespace

ChannelHistory::ChannelHistory(const HistoryLimits& limits) : limits_(limits) {}

size_t ChannelHistory::append(StoredEventPtr ev) {
    // Positions only move forward; a stale or duplicate event (a broker replaying what we
    // already have) is ignored rather than breaking the ordering binary search relies on.
    if (!ev || ev->position <= head_) return 0;
    head_ = ev->position;
    head_type_ = ev->type;
    add_bytes(size_of(ev));
    events_.push_back(std::move(ev));
    size_t evicted = 0;
    while (!events_.empty() &&
           (events_.size() > limits_.max_events || bytes_ > limits_.max_bytes)) {
        evict_front();
        ++evicted;
    }
    return evicted;
}

size_t ChannelHistory::expire(Clock::time_point now) {
    size_t evicted = 0;
    while (!events_.empty() && events_.front()->at + limits_.ttl <= now) {
        evict_front();
        ++evicted;
    }
    return evicted;
}

void ChannelHistory::set_limits(const HistoryLimits& limits) {
    limits_ = limits;
    while (!events_.empty() &&
           (events_.size() > limits_.max_events || bytes_ > limits_.max_bytes))
        evict_front();
}

uint64_t ChannelHistory::oldest() const {
    return events_.empty() ? head_ + 1 : events_.front()->position;
}

const StoredEvent* ChannelHistory::first_at_or_after(uint64_t p) const {
    auto before = [](const StoredEventPtr& ev, uint64_t pos) { return ev->position < pos; };
    auto it = std::lower_bound(events_.begin(), events_.end(), p, before);
    return it == events_.end() ? nullptr : it->get();
}

const StoredEvent* ChannelHistory::newest() const {
    return events_.empty() ? nullptr : events_.back().get();
}

const StoredEventPtr& ChannelHistory::newest_ref() const {
    return events_.empty() ? kNone : events_.back();
}

size_t ChannelHistory::prepend_older(std::vector<StoredEvent> events) {
    std::vector<StoredEventPtr> refs;
    refs.reserve(events.size());
    for (auto& ev : events) refs.push_back(std::make_shared<const StoredEvent>(std::move(ev)));
    return prepend_older(std::move(refs));
}

size_t ChannelHistory::prepend_older(std::vector<StoredEventPtr> events) {
    size_t kept = 0;
    // Walk from the newest older event backwards: each goes directly in front.
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
        if (!*it) continue;
        const StoredEvent& ev = **it;
        uint64_t size = size_of(ev);
        if (ev.position >= oldest()) continue;
        if (events_.size() >= limits_.max_events || bytes_ + size > limits_.max_bytes) break;
        if (ev.position > head_) {
            head_ = ev.position;
            head_type_ = ev.type;
        }
        add_bytes(size);
        events_.push_front(std::move(*it));
        ++kept;
    }
    return kept;
}

void ChannelHistory::reset() {
    clear();
    head_ = 0;
    head_type_.clear();
}

void ChannelHistory::clear() {
    events_.clear();
    sub_bytes(bytes_);
}

void ChannelHistory::advance_head(uint64_t head) {
    if (head > head_) {
        head_ = head;
        head_type_.clear();  // an event we never saw: its type is unknown
    }
}

void ChannelHistory::advance_head(uint64_t head, const std::string& type) {
    if (head > head_) {
        head_ = head;
        head_type_ = type;
    } else if (head == head_ && head_type_.empty()) {
        head_type_ = type;
    }
}

uint64_t ChannelHistory::drop_oldest() {
    if (events_.empty()) return 0;
    uint64_t size = size_of(events_.front());
    evict_front();
    return size;
}

void ChannelHistory::evict_front() {
    sub_bytes(size_of(events_.front()));
    events_.pop_front();
}

void ChannelHistory::add_bytes(uint64_t n) {
    bytes_ += n;
    if (ledger_) *ledger_ += n;
}

void ChannelHistory::sub_bytes(uint64_t n) {
    bytes_ -= n;
    if (ledger_) *ledger_ -= n;
}

}  // namespace sluice::history
