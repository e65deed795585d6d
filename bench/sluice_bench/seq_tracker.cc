#include "bench/sluice_bench/seq_tracker.h"

namespace sluice::bench {

void SeqTracker::add_gap(uint64_t from, uint64_t to) {
    if (from > to) return;
    gaps_.emplace(from, to);
    missing_ += to - from + 1;
}

SeqTracker::Outcome SeqTracker::observe(uint64_t seq) {
    if (!started_) {
        started_ = true;
        first_ = highest_ = seq;
        return Outcome::First;
    }
    if (seq == highest_ + 1) {
        highest_ = seq;
        return Outcome::InOrder;
    }
    if (seq > highest_) {
        add_gap(highest_ + 1, seq - 1);
        highest_ = seq;
        return Outcome::Gap;
    }
    if (seq < first_) {
        // Older than anything seen: the numbers between it and the old first are now owed.
        add_gap(seq + 1, first_ - 1);
        first_ = seq;
        return Outcome::Late;
    }
    auto it = gaps_.upper_bound(seq);
    if (it == gaps_.begin()) return Outcome::Duplicate;
    --it;
    auto [from, to] = *it;
    if (seq > to) return Outcome::Duplicate;
    gaps_.erase(it);
    --missing_;
    if (from < seq) gaps_.emplace(from, seq - 1);
    if (seq < to) gaps_.emplace(seq + 1, to);
    return Outcome::Late;
}

uint64_t SeqTracker::lost(uint64_t baseline, uint64_t last_published) const {
    if (!started_) return last_published > baseline ? last_published - baseline : 0;
    uint64_t n = missing_;
    if (first_ > baseline + 1) n += first_ - 1 - baseline;
    if (last_published > highest_) n += last_published - highest_;
    return n;
}

}  // namespace sluice::bench
