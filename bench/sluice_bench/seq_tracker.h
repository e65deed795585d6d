// What one subscriber received of one channel's sequence numbers, to count lost, duplicated
// and reordered events. Memory grows with the number of open gaps, not with the number of
// events: missing numbers are kept as ranges. Pure; no I/O.
#pragma once

#include <cstdint>
#include <map>

namespace sluice::bench {

class SeqTracker {
public:
    enum class Outcome : uint8_t {
        First,      // the first number seen
        InOrder,    // highest + 1
        Gap,        // above highest + 1: the numbers in between are missing (so far)
        Late,       // a missing number arrived after a higher one (reordered)
        Duplicate,  // seen before
    };

    Outcome observe(uint64_t seq);

    bool started() const { return started_; }
    uint64_t first() const { return first_; }      // lowest number seen
    uint64_t highest() const { return highest_; }  // highest number seen
    uint64_t missing() const { return missing_; }  // numbers in (first, highest) not seen

    // Numbers the subscriber should have had and did not: those missing between first and
    // highest, those after `baseline` (the channel's last number when the stream went live,
    // so everything later was published to a live subscriber) and before the first one seen,
    // and those after the highest up to `last_published`.
    uint64_t lost(uint64_t baseline, uint64_t last_published) const;

private:
    void add_gap(uint64_t from, uint64_t to);

    std::map<uint64_t, uint64_t> gaps_;  // first missing number -> last missing number
    uint64_t first_ = 0;
    uint64_t highest_ = 0;
    uint64_t missing_ = 0;
    bool started_ = false;
};

}  // namespace sluice::bench
