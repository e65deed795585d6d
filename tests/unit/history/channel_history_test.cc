// ChannelHistory: count/byte/TTL bounds, holes in positions, lookups, head handling.
#include <catch2/catch.hpp>

#include "gateway/history/channel_history.h"

using namespace sluice;
using namespace sluice::history;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000h;

StoredEvent ev(uint64_t pos, size_t bytes = 10, Clock::time_point at = t0) {
    return StoredEvent{pos, make_shared_bytes(std::string(bytes, 'x')), "", at};
}

HistoryLimits limits(uint64_t events, uint64_t bytes = 1 << 20,
                     std::chrono::milliseconds ttl = 1h) {
    return HistoryLimits{events, bytes, ttl};
}

}  // namespace

TEST_CASE("history starts empty", "[history]") {
    ChannelHistory h(limits(10));
    CHECK(h.empty());
    CHECK(h.size() == 0);
    CHECK(h.head() == 0);
    CHECK(h.oldest() == 1);
    CHECK(h.bytes() == 0);
    CHECK(h.newest() == nullptr);
    CHECK(h.first_at_or_after(0) == nullptr);
}

TEST_CASE("history append tracks head, oldest, size and bytes", "[history]") {
    ChannelHistory h(limits(10));
    CHECK(h.append(ev(1, 5)) == 0);
    CHECK(h.append(ev(2, 7)) == 0);
    CHECK(h.head() == 2);
    CHECK(h.oldest() == 1);
    CHECK(h.size() == 2);
    CHECK(h.bytes() == 12);
    REQUIRE(h.newest());
    CHECK(h.newest()->position == 2);
}

TEST_CASE("history evicts by event count", "[history]") {
    ChannelHistory h(limits(3));
    for (uint64_t p = 1; p <= 3; ++p) CHECK(h.append(ev(p)) == 0);
    CHECK(h.append(ev(4)) == 1);
    CHECK(h.size() == 3);
    CHECK(h.oldest() == 2);
    CHECK(h.head() == 4);
    CHECK(h.bytes() == 30);
}

TEST_CASE("history evicts by bytes", "[history]") {
    ChannelHistory h(limits(100, 25));
    CHECK(h.append(ev(1, 10)) == 0);
    CHECK(h.append(ev(2, 10)) == 0);
    CHECK(h.bytes() == 20);
    CHECK(h.append(ev(3, 10)) == 1);  // 30 > 25
    CHECK(h.bytes() == 20);
    CHECK(h.oldest() == 2);
    CHECK(h.append(ev(4, 25)) == 2);  // needs the whole budget
    CHECK(h.size() == 1);
    CHECK(h.bytes() == 25);
    CHECK(h.oldest() == 4);
}

TEST_CASE("history: an event larger than max_bytes is not kept, head still moves",
          "[history]") {
    ChannelHistory h(limits(100, 25));
    h.append(ev(1, 10));
    CHECK(h.append(ev(2, 26)) == 2);
    CHECK(h.empty());
    CHECK(h.bytes() == 0);
    CHECK(h.head() == 2);
    CHECK(h.oldest() == 3);
}

TEST_CASE("history with max_events 0 keeps nothing", "[history]") {
    ChannelHistory h(limits(0));
    CHECK(h.append(ev(1)) == 1);
    CHECK(h.empty());
    CHECK(h.head() == 1);
    CHECK(h.oldest() == 2);
}

TEST_CASE("history: exactly at the limits is kept", "[history]") {
    ChannelHistory h(limits(2, 20));
    CHECK(h.append(ev(1, 10)) == 0);
    CHECK(h.append(ev(2, 10)) == 0);
    CHECK(h.size() == 2);
    CHECK(h.bytes() == 20);
}

TEST_CASE("history ignores positions at or below head", "[history]") {
    ChannelHistory h(limits(10));
    h.append(ev(5, 10));
    CHECK(h.append(ev(5, 3)) == 0);
    CHECK(h.append(ev(2, 3)) == 0);
    CHECK(h.size() == 1);
    CHECK(h.bytes() == 10);
    CHECK(h.head() == 5);
}

TEST_CASE("history with holes: first_at_or_after uses the next held position", "[history]") {
    ChannelHistory h(limits(10));
    for (uint64_t p : {3, 4, 7, 10, 11}) h.append(ev(p));
    CHECK(h.head() == 11);
    CHECK(h.oldest() == 3);
    auto pos = [&](uint64_t p) -> int64_t {
        const StoredEvent* e = h.first_at_or_after(p);
        return e ? static_cast<int64_t>(e->position) : -1;
    };
    CHECK(pos(0) == 3);
    CHECK(pos(3) == 3);
    CHECK(pos(4) == 4);
    CHECK(pos(5) == 7);
    CHECK(pos(7) == 7);
    CHECK(pos(8) == 10);
    CHECK(pos(11) == 11);
    CHECK(pos(12) == -1);
}

TEST_CASE("history expire drops events whose age reached ttl", "[history]") {
    ChannelHistory h(limits(10, 1 << 20, 100ms));
    h.append(ev(1, 10, t0));
    h.append(ev(2, 10, t0 + 50ms));
    h.append(ev(3, 10, t0 + 120ms));
    CHECK(h.expire(t0 + 99ms) == 0);
    CHECK(h.expire(t0 + 100ms) == 1);  // at + ttl <= now
    CHECK(h.oldest() == 2);
    CHECK(h.bytes() == 20);
    CHECK(h.expire(t0 + 219ms) == 1);
    CHECK(h.oldest() == 3);
    CHECK(h.expire(t0 + 1h) == 1);
    CHECK(h.empty());
    CHECK(h.bytes() == 0);
    CHECK(h.head() == 3);
    CHECK(h.oldest() == 4);
    CHECK(h.expire(t0 + 2h) == 0);
}

TEST_CASE("history set_limits shrinking evicts, growing keeps", "[history]") {
    ChannelHistory h(limits(10, 1000));
    for (uint64_t p = 1; p <= 6; ++p) h.append(ev(p, 10));
    h.set_limits(limits(4, 1000));
    CHECK(h.size() == 4);
    CHECK(h.oldest() == 3);
    h.set_limits(limits(4, 25));
    CHECK(h.size() == 2);
    CHECK(h.oldest() == 5);
    CHECK(h.bytes() == 20);
    h.set_limits(limits(100, 1000));
    CHECK(h.size() == 2);
    CHECK(h.append(ev(7, 10)) == 0);
    CHECK(h.size() == 3);

    // The new ttl applies on the next expire.
    h.set_limits(limits(100, 1000, 1ms));
    CHECK(h.expire(t0 + 1ms) == 3);
}

TEST_CASE("history clear keeps head", "[history]") {
    ChannelHistory h(limits(10));
    h.append(ev(1));
    h.append(ev(2));
    h.clear();
    CHECK(h.empty());
    CHECK(h.bytes() == 0);
    CHECK(h.head() == 2);
    CHECK(h.oldest() == 3);
    CHECK(h.append(ev(3)) == 0);
    CHECK(h.oldest() == 3);
}

TEST_CASE("history advance_head only moves forward", "[history]") {
    ChannelHistory h(limits(10));
    h.append(ev(5));
    h.advance_head(3);
    CHECK(h.head() == 5);
    h.advance_head(9);
    CHECK(h.head() == 9);
    CHECK(h.oldest() == 5);  // still holds 5
    CHECK(h.first_at_or_after(6) == nullptr);
    CHECK(h.append(ev(8)) == 0);  // at or below the advanced head: ignored
    CHECK(h.size() == 1);
    CHECK(h.append(ev(10)) == 0);
    CHECK(h.head() == 10);
    CHECK(h.size() == 2);
}

TEST_CASE("history stores the encoded bytes and type it was given", "[history]") {
    ChannelHistory h(limits(10));
    auto bytes = make_shared_bytes("id: 1\ndata: {\"type\":\"done\"}\n\n");
    h.append(StoredEvent{1, bytes, "done", t0});
    const StoredEvent* e = h.first_at_or_after(1);
    REQUIRE(e);
    CHECK(e->encoded == bytes);  // same shared buffer, not a copy
    CHECK(e->type == "done");
    CHECK(h.bytes() == bytes->size());
}

TEST_CASE("history keeps the head's type after the head event is evicted", "[history]") {
    ChannelHistory h(limits(1));
    auto a = ev(1, 10);
    a.type = "chunk";
    auto b = ev(2, 10);
    b.type = "done";
    h.append(a);
    CHECK(h.head_type() == "chunk");
    h.append(b);
    h.expire(t0 + 2h);
    CHECK(h.empty());
    CHECK(h.head_type() == "done");
    h.advance_head(3);  // an event never seen here: type unknown
    CHECK(h.head_type().empty());
    h.append(b);        // at or below head: ignored, type unchanged
    CHECK(h.head_type().empty());
    h.reset();
    CHECK(h.head_type().empty());
}

TEST_CASE("the ledger mirrors every byte change and drop_oldest keeps the head", "[history]") {
    uint64_t ledger = 0;
    history::HistoryLimits limits;
    limits.max_events = 3;
    history::ChannelHistory h(limits);
    h.set_ledger(&ledger);
    for (uint64_t p = 1; p <= 5; ++p) {
        history::StoredEvent ev;
        ev.position = p;
        ev.encoded = make_shared_bytes(std::string(10 * p, 'x'));
        ev.at = history::Clock::now();
        h.append(std::move(ev));
        CHECK(ledger == h.bytes());
    }
    CHECK(h.drop_oldest() == 30);
    CHECK(ledger == h.bytes());
    CHECK(h.head() == 5);
    CHECK(h.oldest() == 4);
    h.clear();
    CHECK(ledger == 0);
    CHECK(h.head() == 5);
    CHECK(h.drop_oldest() == 0);
}
