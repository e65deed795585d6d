#include "bench/sluice_bench/seq_tracker.h"

#include <catch2/catch.hpp>

using sluice::bench::SeqTracker;
using Outcome = SeqTracker::Outcome;

TEST_CASE("seq tracker: an in-order stream loses nothing", "[bench][seq_tracker]") {
    SeqTracker t;
    CHECK(t.observe(1) == Outcome::First);
    for (uint64_t s = 2; s <= 10; ++s) CHECK(t.observe(s) == Outcome::InOrder);
    CHECK(t.missing() == 0);
    CHECK(t.lost(0, 10) == 0);
}

TEST_CASE("seq tracker: a gap counts as lost until filled", "[bench][seq_tracker]") {
    SeqTracker t;
    t.observe(1);
    CHECK(t.observe(5) == Outcome::Gap);
    CHECK(t.missing() == 3);
    CHECK(t.observe(3) == Outcome::Late);
    CHECK(t.missing() == 2);
    CHECK(t.observe(2) == Outcome::Late);
    CHECK(t.observe(4) == Outcome::Late);
    CHECK(t.missing() == 0);
    CHECK(t.lost(0, 5) == 0);
}

TEST_CASE("seq tracker: a repeated number is a duplicate", "[bench][seq_tracker]") {
    SeqTracker t;
    t.observe(1);
    t.observe(2);
    t.observe(4);
    CHECK(t.observe(2) == Outcome::Duplicate);
    CHECK(t.observe(4) == Outcome::Duplicate);
    CHECK(t.observe(3) == Outcome::Late);
    CHECK(t.observe(3) == Outcome::Duplicate);
}

TEST_CASE("seq tracker: a number below the first opens a gap", "[bench][seq_tracker]") {
    SeqTracker t;
    t.observe(5);
    CHECK(t.observe(2) == Outcome::Late);
    CHECK(t.first() == 2);
    CHECK(t.missing() == 2);  // 3 and 4
    CHECK(t.observe(2) == Outcome::Duplicate);
}

TEST_CASE("seq tracker: lost counts the tail after the highest", "[bench][seq_tracker]") {
    SeqTracker t;
    t.observe(1);
    t.observe(2);
    CHECK(t.lost(0, 7) == 5);
}

TEST_CASE("seq tracker: numbers published after going live are owed", "[bench][seq_tracker]") {
    SeqTracker late;  // live when the channel was at 10; first saw 14
    late.observe(14);
    CHECK(late.lost(10, 14) == 3);  // 11, 12, 13
    SeqTracker replayed;  // live at 10 but history replayed from 1: nothing owed
    replayed.observe(1);
    CHECK(replayed.lost(10, 1) == 0);
    SeqTracker never;  // live at 10, nothing arrived, channel reached 12
    CHECK(never.lost(10, 12) == 2);
}
