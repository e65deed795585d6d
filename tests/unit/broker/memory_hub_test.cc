#include <catch2/catch.hpp>

#include <thread>

#include "gateway/broker/memory_hub.h"
#include "gateway/core/position.h"

using namespace sluice::broker;

namespace {

struct TestInbox {
    MemoryHub::Inbox inbox;
    int wakes = 0;
    TestInbox() { inbox.wake = [this] { ++wakes; }; }
    // This loop reads these channels: their events are queued here from now on.
    void hold(MemoryHub& hub, std::initializer_list<const char*> channels) {
        for (const char* ch : channels) hub.hold(ch, &inbox);
    }
    std::vector<MemoryHub::MessagePtr> take() {
        std::lock_guard<std::mutex> lock(inbox.mutex);
        std::vector<MemoryHub::MessagePtr> out;
        out.swap(inbox.queue);
        return out;
    }
};

}  // namespace

TEST_CASE("publish assigns dense positions per channel and reaches every inbox", "[broker][hub]") {
    MemoryHub hub;
    TestInbox a, b;
    hub.attach(&a.inbox);
    hub.attach(&b.inbox);
    a.hold(hub, {"x", "y"});
    b.hold(hub, {"x", "y"});
    CHECK(hub.publish("x", "1", "") == 1);
    CHECK(hub.publish("x", "2", "") == 2);
    CHECK(hub.publish("y", "1", "ev") == 1);
    auto got = a.take();
    REQUIRE(got.size() == 3);
    CHECK(got[0]->position == 1);
    CHECK(got[1]->position == 2);
    CHECK(got[2]->channel == "y");
    CHECK(got[2]->event == "ev");
    CHECK(b.take().size() == 3);
    CHECK(a.wakes == 1);  // only the empty -> non-empty edge wakes the loop
    hub.detach(&a.inbox);
    hub.detach(&b.inbox);
}

TEST_CASE("positions stay in order per inbox under concurrent publishers", "[broker][hub]") {
    MemoryHub hub;
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"c"});
    auto worker = [&] {
        for (int i = 0; i < 2000; ++i) hub.publish("c", "p", "");
    };
    std::thread t1(worker), t2(worker);
    t1.join();
    t2.join();
    auto got = a.take();
    REQUIRE(got.size() == 4000);
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i]->position == i + 1);
    hub.detach(&a.inbox);
}

TEST_CASE("sequenced delivery keeps Redis positions and drops duplicates", "[broker][hub]") {
    MemoryHub hub;
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"s"});
    CHECK(hub.deliver_sequenced("s", 5, "five", ""));
    CHECK_FALSE(hub.deliver_sequenced("s", 5, "again", ""));
    CHECK_FALSE(hub.deliver_sequenced("s", 3, "older", ""));
    CHECK(hub.deliver_sequenced("s", 6, "six", ""));
    CHECK(hub.head("s") == 6);
    auto heads = hub.sequenced_heads();
    REQUIRE(heads.size() == 1);
    CHECK(heads[0] == std::make_pair(std::string("s"), uint64_t{6}));
    hub.reset_sequenced("s", "new one", "");
    CHECK(hub.head("s") == 1);
    auto got = a.take();
    REQUIRE(got.size() == 3);
    CHECK(got[2]->reset);
    CHECK(got[2]->position == 1);
    hub.detach(&a.inbox);
}

TEST_CASE("readiness changes travel in order with the events", "[broker][hub]") {
    MemoryHub hub;
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"x"});
    hub.set_ready(false);
    hub.set_ready(false);  // no change, no message
    hub.publish("x", "p", "");
    hub.set_ready(true);
    auto got = a.take();
    REQUIRE(got.size() == 3);
    CHECK(got[0]->channel.empty());
    CHECK(got[1]->channel == "x");
    CHECK(got[2]->channel.empty());
    CHECK(hub.ready());
    hub.detach(&a.inbox);
}

namespace {

// A clock the test moves by hand.
struct FakeClock {
    MemoryHub::Clock::time_point t{std::chrono::hours(1000)};
    MemoryHub::NowFn fn() {
        return [this] { return t; };
    }
};

}  // namespace

TEST_CASE("a head outlives its events for positions_ttl: the count continues",
          "[broker][hub]") {
    FakeClock clock;
    MemoryHub hub(std::chrono::hours(24), clock.fn());
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"x"});
    for (int i = 0; i < 3; ++i) hub.publish("x", "p", "");
    // Long after any history ttl, and with no loop holding the channel, the next event
    // is 4: a position is never given twice (issue 8).
    clock.t += std::chrono::hours(23);
    CHECK(hub.head("x") == 3);
    CHECK(hub.publish("x", "p", "") == 4);
    // Each event restarts the positions_ttl.
    clock.t += std::chrono::hours(23);
    CHECK(hub.publish("x", "p", "") == 5);
    auto got = a.take();
    REQUIRE(got.size() == 5);
    for (const auto& m : got) CHECK_FALSE(m->reset);  // one count throughout
    hub.detach(&a.inbox);
}

TEST_CASE("after positions_ttl the count starts again, marked as a reset", "[broker][hub]") {
    FakeClock clock;
    MemoryHub hub(std::chrono::hours(24), clock.fn());
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"x"});
    hub.publish("x", "p", "");
    hub.publish("x", "p", "");
    clock.t += std::chrono::hours(24);
    CHECK(hub.head("x") == 0);
    CHECK(hub.head("x") == 0);  // looking does not change anything
    CHECK(hub.publish("x", "again", "") == 1);
    auto got = a.take();
    REQUIRE(got.size() == 3);
    CHECK(got[2]->position == 1);
    CHECK(got[2]->reset);  // loops still holding 1..2 forget them first
    hub.detach(&a.inbox);
}

TEST_CASE("positions_ttl is per channel and follows a reload at the next event",
          "[broker][hub]") {
    FakeClock clock;
    MemoryHub hub(std::chrono::hours(24), clock.fn());
    hub.set_positions_ttl([](const std::string& ch) {
        return ch == "short" ? std::chrono::milliseconds(2000) : std::chrono::milliseconds(60000);
    });
    hub.publish("short", "p", "");
    hub.publish("long", "p", "");
    clock.t += std::chrono::seconds(3);
    CHECK(hub.head("short") == 0);
    CHECK(hub.head("long") == 1);
    hub.set_positions_ttl([](const std::string&) { return std::chrono::milliseconds(1000); });
    CHECK(hub.head("long") == 1);  // the old ttl holds until the next event
    hub.publish("long", "p", "");
    clock.t += std::chrono::seconds(1);
    CHECK(hub.head("long") == 0);
}

TEST_CASE("sequenced heads expire too, and a restart at 1 is a reset", "[broker][hub]") {
    FakeClock clock;
    MemoryHub hub(std::chrono::hours(1), clock.fn());
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"s", "t"});
    CHECK(hub.deliver_sequenced("s", 7, "seven", ""));
    CHECK(hub.sequenced_heads().size() == 1);
    clock.t += std::chrono::hours(1);
    CHECK(hub.sequenced_heads().empty());
    CHECK(hub.head("s") == 0);
    CHECK(hub.deliver_sequenced("s", 1, "one", ""));
    CHECK(hub.deliver_sequenced("t", 1, "first ever", ""));
    auto got = a.take();
    REQUIRE(got.size() == 3);
    CHECK_FALSE(got[0]->reset);
    CHECK(got[1]->reset);        // Redis restarted the count after the head expired
    CHECK_FALSE(got[2]->reset);  // a new channel's first event is not a reset
    hub.detach(&a.inbox);
}

TEST_CASE("expired heads are forgotten as new channels arrive, without a timer",
          "[broker][hub]") {
    FakeClock clock;
    MemoryHub hub(std::chrono::seconds(10), clock.fn());
    for (int i = 0; i < 1000; ++i) hub.publish("old" + std::to_string(i), "p", "");
    CHECK(hub.channel_count() == 1000);
    clock.t += std::chrono::seconds(10);
    // New channels sweep a few buckets each: the table does not keep growing with
    // channels nobody will see again.
    for (int i = 0; i < 2000; ++i) hub.publish("new" + std::to_string(i), "p", "");
    CHECK(hub.channel_count() < 2600);
    clock.t += std::chrono::seconds(10);
    hub.sweep();
    CHECK(hub.channel_count() == 0);
}

TEST_CASE("positions stay within 1..2^53-1", "[broker][hub]") {
    MemoryHub hub;
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"s"});
    CHECK_FALSE(hub.deliver_sequenced("s", sluice::kMaxPosition + 1, "over", ""));
    CHECK_FALSE(hub.deliver_sequenced("s", UINT64_MAX, "forged", ""));
    CHECK_FALSE(hub.deliver_sequenced("s", 0, "zero", ""));
    hub.note_sequenced_head("s", UINT64_MAX);  // ignored
    CHECK(hub.head("s") == 0);
    CHECK(hub.deliver_sequenced("s", sluice::kMaxPosition, "last", ""));
    CHECK(hub.publish("s", "no room", "") == 0);  // no position left: refused, not wrapped
    CHECK(hub.head("s") == sluice::kMaxPosition);
    CHECK(a.take().size() == 1);
    hub.detach(&a.inbox);
}

TEST_CASE("a head read from Redis does not overtake events pub/sub is still delivering",
          "[broker][hub]") {
    // Soak finding: a loop opening a sequenced channel read Redis's head (5) while the
    // hub had delivered up to 3; raising the hub's head made 4 and 5 look like
    // duplicates, and every loop already holding the channel got a gap {4, 5}.
    MemoryHub hub(std::chrono::seconds(1));
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"s"});
    for (uint64_t p = 1; p <= 3; ++p) CHECK(hub.deliver_sequenced("s", p, "e", ""));
    hub.note_sequenced_head("s", 5);
    CHECK(hub.head("s") == 3);
    CHECK(hub.deliver_sequenced("s", 4, "e4", ""));
    CHECK(hub.deliver_sequenced("s", 5, "e5", ""));
    CHECK(a.take().size() == 5);
    // A channel the hub has not delivered yet takes the head it is told.
    hub.note_sequenced_head("t", 7);
    CHECK(hub.head("t") == 7);
    CHECK_FALSE(hub.deliver_sequenced("t", 7, "dup", ""));
}

// limits.max_channels is decided in the hub (issue 8, "Exactness"): nothing is
// acknowledged that is not stored, and channels stop counting once every loop's copy is
// empty.
TEST_CASE("at max_channels a publish to a new channel is refused and leaves no trace",
          "[broker][hub][cap]") {
    MemoryHub hub;
    hub.set_max_channels(2);
    TestInbox a, b;
    hub.attach(&a.inbox);
    hub.attach(&b.inbox);
    a.hold(hub, {"one", "two"});
    b.hold(hub, {"one", "two"});
    CHECK(hub.publish("one", "p", "") == 1);
    CHECK(hub.publish("two", "p", "") == 1);
    CHECK(hub.stored_channels() == 2);
    CHECK_FALSE(hub.admits("three"));
    CHECK(hub.admits("one"));
    CHECK(hub.publish("three", "p", "") == 0);
    CHECK(hub.channel_count() == 2);         // no head was created for it
    CHECK(hub.publish("one", "q", "") == 2);  // channels that hold events go on
    CHECK(a.take().size() == 3);
    CHECK(b.take().size() == 3);
    CHECK(hub.dropped_at_cap() == 0);  // refused, not dropped: the publisher was told
    hub.detach(&a.inbox);
    hub.detach(&b.inbox);
}

TEST_CASE("a channel stops counting once its shared history is empty", "[broker][hub][cap]") {
    MemoryHub hub;
    hub.set_max_channels(1);
    hub.set_history_limits([](const std::string&) {
        sluice::history::HistoryLimits l;
        l.ttl = std::chrono::seconds(10);
        return l;
    });
    TestInbox a, b;
    hub.attach(&a.inbox);
    hub.attach(&b.inbox);
    a.hold(hub, {"one"});
    CHECK(hub.publish("one", "p", "") == 1);
    CHECK(hub.stored_channels() == 1);
    CHECK(hub.publish("two", "p", "") == 0);
    CHECK(hub.expire_history(sluice::history::Clock::now()) == 0);  // not yet
    CHECK(hub.stored_channels() == 1);
    // The event's TTL passes: the process holds nothing of "one" any more, whether or
    // not a loop still reads it.
    CHECK(hub.expire_history(sluice::history::Clock::now() + std::chrono::seconds(11)) == 1);
    CHECK(hub.stored_channels() == 0);
    CHECK(hub.publish("two", "p", "") == 1);
    CHECK(hub.publish("one", "p", "") == 0);  // "two" holds the only slot now
    // The head outlives the events: once there is room, the count continues.
    hub.expire_history(sluice::history::Clock::now() + std::chrono::seconds(11));
    CHECK(hub.publish("one", "p", "") == 2);
    hub.detach(&a.inbox);
    hub.detach(&b.inbox);
}

TEST_CASE("a Redis PUBLISH at the cap is dropped, counted, and uses up its position",
          "[broker][hub][cap]") {
    MemoryHub hub;
    hub.set_max_channels(1);
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"one", "two"});
    CHECK(hub.publish("one", "p", "", nullptr, MemoryHub::AtCap::Skip) == 1);
    CHECK(hub.publish("two", "p", "", nullptr, MemoryHub::AtCap::Skip) == 0);
    CHECK(hub.dropped_at_cap() == 1);
    CHECK(hub.head("two") == 1);  // a reader resuming on "two" sees a gap at 1
    hub.expire_history(sluice::history::Clock::now() + std::chrono::hours(2));  // "one" empties
    CHECK(hub.publish("two", "p", "", nullptr, MemoryHub::AtCap::Skip) == 2);
    auto got = a.take();
    REQUIRE(got.size() == 2);
    CHECK(got[1]->channel == "two");
    CHECK(got[1]->position == 2);
    hub.detach(&a.inbox);
}

TEST_CASE("a sequenced event at the cap moves the head past it and is counted",
          "[broker][hub][cap]") {
    MemoryHub hub;
    hub.set_max_channels(1);
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"one", "two"});
    CHECK(hub.deliver_sequenced("one", 1, "p", ""));
    CHECK_FALSE(hub.deliver_sequenced("two", 4, "p", ""));
    CHECK(hub.head("two") == 4);
    CHECK(hub.dropped_at_cap() == 1);
    CHECK(a.take().size() == 1);
    hub.detach(&a.inbox);
}

TEST_CASE("a reader looking up a channel that never had an event leaves nothing in the hub",
          "[broker][hub][cap]") {
    MemoryHub hub(std::chrono::hours(1));
    uint64_t seen = 99;
    hub.with_head("nobody-publishes", [&](uint64_t head) { seen = head; });
    CHECK(seen == 0);
    CHECK(hub.head("nobody-publishes") == 0);
    CHECK(hub.channel_count() == 0);
}

TEST_CASE("a rewound sequenced channel starts over from what Redis holds, marked as a reset",
          "[broker][hub]") {
    MemoryHub hub;
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"s"});
    for (uint64_t p = 1; p <= 5; ++p) CHECK(hub.deliver_sequenced("s", p, "e" + std::to_string(p), ""));
    CHECK(hub.sequenced_tip("s") == std::make_pair(uint64_t{5}, MemoryHub::event_digest("", "e5")));
    a.take();
    // Redis lost 4 and 5 and gave 4 to a new event.
    std::vector<Message> redis;
    for (uint64_t p = 1; p <= 4; ++p) {
        Message m;
        m.channel = "s";
        m.position = p;
        m.payload = p < 4 ? "e" + std::to_string(p) : "n4";
        redis.push_back(m);
    }
    hub.rewind_sequenced("s", redis);
    auto got = a.take();
    REQUIRE(got.size() == 4);
    CHECK(got[0]->reset);
    CHECK(got[0]->position == 1);
    CHECK_FALSE(got[1]->reset);
    CHECK(got[3]->payload == "n4");
    CHECK(hub.head("s") == 4);
    CHECK(hub.sequenced_tip("s").second == MemoryHub::event_digest("", "n4"));
    CHECK(hub.deliver_sequenced("s", 5, "n5", ""));
    CHECK_FALSE(a.take()[0]->reset);

    // Nothing left in Redis: the next event, whatever its position, is the reset.
    hub.rewind_sequenced("s", {});
    CHECK(hub.head("s") == 0);
    CHECK(hub.deliver_sequenced("s", 3, "later", ""));
    auto next = a.take();
    REQUIRE(next.size() == 1);
    CHECK(next[0]->reset);
    // Digests never collide with "unknown".
    CHECK(MemoryHub::event_digest("", "") != 0);
}

TEST_CASE("each event is encoded once for the process and every loop shares it",
          "[broker][hub]") {
    MemoryHub hub;
    int encoded = 0;
    hub.set_encoder([&encoded](const Message& m) {
        ++encoded;  // called under the hub lock: no race on the counter
        auto ev = std::make_shared<sluice::history::StoredEvent>();
        ev->position = m.position;
        ev->encoded = sluice::make_shared_bytes("id: " + std::to_string(m.position) + "\n\n");
        return sluice::history::StoredEventPtr(ev);
    });
    TestInbox a, b;
    hub.attach(&a.inbox);
    hub.attach(&b.inbox);
    a.hold(hub, {"x", "s"});
    b.hold(hub, {"x", "s"});
    CHECK(hub.publish("x", "p", "") == 1);
    CHECK(hub.deliver_sequenced("s", 7, "q", ""));
    auto got_a = a.take();
    auto got_b = b.take();
    REQUIRE(got_a.size() == 2);
    REQUIRE(got_b.size() == 2);
    CHECK(encoded == 2);
    for (size_t i = 0; i < 2; ++i) {
        REQUIRE(got_a[i]->stored);
        CHECK(got_a[i]->stored == got_b[i]->stored);  // the same object, not a copy
        CHECK(got_a[i]->stored->position == got_a[i]->position);
    }
    // Readiness changes carry no event.
    hub.set_ready(false);
    CHECK_FALSE(a.take()[0]->stored);
    hub.detach(&a.inbox);
    hub.detach(&b.inbox);
}

// Issue 12 item 1 ("history once per process"): the hub keeps each channel's events once
// and queues them only to the loops that read the channel.
namespace {

std::vector<uint64_t> positions_of(const std::vector<sluice::history::StoredEventPtr>& events) {
    std::vector<uint64_t> out;
    for (const auto& ev : events) out.push_back(ev->position);
    return out;
}

std::vector<uint64_t> positions_of(const std::vector<MemoryHub::MessagePtr>& msgs,
                                   const std::string& channel) {
    std::vector<uint64_t> out;
    for (const auto& m : msgs)
        if (m->channel == channel) out.push_back(m->position);
    return out;
}

}  // namespace

TEST_CASE("a loop that does not read a channel receives none of its events", "[broker][hub][interest]") {
    MemoryHub hub;
    TestInbox reader, other;
    hub.attach(&reader.inbox);
    hub.attach(&other.inbox);
    reader.hold(hub, {"x"});
    CHECK(hub.publish("x", "1", "") == 1);
    CHECK(hub.publish("y", "1", "") == 1);
    CHECK(hub.deliver_sequenced("x", 2, "2", ""));
    CHECK(positions_of(reader.take(), "x") == std::vector<uint64_t>{1, 2});
    CHECK(other.take().empty());
    CHECK(other.wakes == 0);  // not even woken
    // Readiness still reaches every loop.
    hub.set_ready(false);
    CHECK(other.take().size() == 1);
    hub.detach(&reader.inbox);
    hub.detach(&other.inbox);
}

TEST_CASE("taking up a channel gives its shared history and head, then exactly the later events",
          "[broker][hub][interest]") {
    MemoryHub hub;
    TestInbox early, late;
    hub.attach(&early.inbox);
    hub.attach(&late.inbox);
    early.hold(hub, {"x"});
    for (int i = 0; i < 3; ++i) hub.publish("x", "p", "");
    MemoryHub::Held held = hub.hold("x", &late.inbox);
    CHECK(held.head == 3);
    CHECK(positions_of(held.events) == std::vector<uint64_t>{1, 2, 3});
    CHECK(held.pending.empty());
    hub.publish("x", "p", "");
    CHECK(positions_of(late.take(), "x") == std::vector<uint64_t>{4});
    // The snapshot is the events the other loop got: the same objects, no copies.
    auto got = early.take();
    REQUIRE(got.size() == 4);
    for (size_t i = 0; i < 3; ++i) CHECK(got[i]->stored == held.events[i]);
    // Holding twice is holding once: no event is queued twice.
    hub.hold("x", &late.inbox);
    hub.publish("x", "p", "");
    CHECK(positions_of(late.take(), "x") == std::vector<uint64_t>{5});
    hub.detach(&early.inbox);
    hub.detach(&late.inbox);
}

TEST_CASE("a held channel's events carry its handle, stable while it is read and never reused",
          "[broker][hub][interest]") {
    FakeClock clock;
    MemoryHub hub(std::chrono::hours(1), clock.fn());
    TestInbox loop;
    hub.attach(&loop.inbox);
    MemoryHub::Held x = hub.hold("x", &loop.inbox);
    MemoryHub::Held y = hub.hold("y", &loop.inbox);
    CHECK(x.id != 0);
    CHECK(y.id != 0);
    CHECK(x.id != y.id);
    hub.publish("x", "p", "");
    hub.deliver_sequenced("y", 7, "p", "");
    // positions_ttl passes while the channel is read: the count restarts in place, and
    // the handle the loop keys on stays the same.
    clock.t += std::chrono::hours(2);
    hub.publish("x", "new life", "");
    auto got = loop.take();
    REQUIRE(got.size() == 3);
    CHECK(got[0]->channel_id == x.id);
    CHECK(got[1]->channel_id == y.id);
    CHECK(got[2]->channel_id == x.id);
    CHECK(got[2]->reset);
    CHECK(hub.hold("x", &loop.inbox).id == x.id);  // holding again: the same handle
    // Let go, forgotten, and made again: a new handle, so an event still queued for the
    // old one can never be taken for the new channel.
    hub.release("x", &loop.inbox);
    clock.t += std::chrono::hours(2);
    CHECK(hub.sweep() >= 1);
    CHECK(hub.hold("x", &loop.inbox).id > y.id);
    hub.detach(&loop.inbox);
}

TEST_CASE("a snapshot taken while another thread publishes meets the live events exactly",
          "[broker][hub][interest]") {
    MemoryHub hub;
    TestInbox loop;
    hub.attach(&loop.inbox);
    constexpr uint64_t kEvents = 20000;
    std::thread publisher([&hub] {
        for (uint64_t i = 0; i < kEvents; ++i) hub.publish("x", "p", "");
    });
    // Taken at some point during the publishes (which point does not matter).
    while (hub.head("x") < 100) std::this_thread::yield();
    MemoryHub::Held held = hub.hold("x", &loop.inbox);
    publisher.join();
    std::vector<uint64_t> seen = positions_of(held.events);
    // The default history keeps 1000 events: the snapshot is the newest up to the head.
    REQUIRE_FALSE(seen.empty());
    CHECK(seen.back() == held.head);
    for (uint64_t p : positions_of(loop.take(), "x")) seen.push_back(p);
    // No gap and no duplicate from the snapshot's oldest event to the last publish.
    for (size_t i = 1; i < seen.size(); ++i) REQUIRE(seen[i] == seen[i - 1] + 1);
    CHECK(seen.back() == kEvents);
    hub.detach(&loop.inbox);
}

TEST_CASE("events queued before a loop takes up a channel are handed over first",
          "[broker][hub][interest]") {
    MemoryHub hub;
    TestInbox loop;
    hub.attach(&loop.inbox);
    loop.hold(hub, {"a"});
    hub.publish("a", "p", "");
    hub.publish("b", "p", "");  // not read: not queued
    MemoryHub::Held held = hub.hold("b", &loop.inbox);
    CHECK(positions_of(held.pending, "a") == std::vector<uint64_t>{1});
    CHECK(positions_of(held.events) == std::vector<uint64_t>{1});
    CHECK(loop.take().empty());
    hub.detach(&loop.inbox);
}

TEST_CASE("a loop that lets a channel go receives no more of its events", "[broker][hub][interest]") {
    MemoryHub hub;
    TestInbox a, b;
    hub.attach(&a.inbox);
    hub.attach(&b.inbox);
    a.hold(hub, {"x"});
    b.hold(hub, {"x"});
    hub.publish("x", "p", "");
    hub.release("x", &a.inbox);
    hub.publish("x", "p", "");
    CHECK(positions_of(a.take(), "x") == std::vector<uint64_t>{1});
    CHECK(positions_of(b.take(), "x") == std::vector<uint64_t>{1, 2});
    // The history and the head stay with the process.
    MemoryHub::Held again = hub.hold("x", &a.inbox);
    CHECK(again.head == 2);
    CHECK(positions_of(again.events) == std::vector<uint64_t>{1, 2});
    hub.detach(&a.inbox);
    hub.detach(&b.inbox);
}

TEST_CASE("reading a channel nobody publishes to leaves nothing once the reader lets go",
          "[broker][hub][interest]") {
    MemoryHub hub;
    TestInbox a;
    hub.attach(&a.inbox);
    MemoryHub::Held held = hub.hold("nobody", &a.inbox);
    CHECK(held.head == 0);
    CHECK(held.events.empty());
    CHECK(hub.stored_channels() == 0);
    hub.release("nobody", &a.inbox);
    CHECK(hub.channel_count() == 0);
    // A first event after a reader's look is a first event, not a reset.
    a.hold(hub, {"fresh"});
    CHECK(hub.publish("fresh", "p", "") == 1);
    auto got = a.take();
    REQUIRE(got.size() == 1);
    CHECK_FALSE(got[0]->reset);
    hub.detach(&a.inbox);
}

TEST_CASE("a stopped loop is forgotten by every channel it read", "[broker][hub][interest]") {
    MemoryHub hub;
    {
        TestInbox gone;
        hub.attach(&gone.inbox);
        gone.hold(hub, {"x", "y"});
        hub.detach(&gone.inbox);
    }
    // Publishing must not touch the stopped loop's inbox (ASan would say so).
    CHECK(hub.publish("x", "p", "") == 1);
    CHECK(hub.publish("y", "p", "") == 1);
}

TEST_CASE("a restart of the count restarts the shared history too", "[broker][hub][interest]") {
    FakeClock clock;
    MemoryHub hub(std::chrono::hours(24), clock.fn());
    TestInbox a;
    hub.attach(&a.inbox);
    hub.publish("x", "p", "");
    hub.publish("x", "p", "");
    clock.t += std::chrono::hours(24);
    hub.publish("x", "new life", "");
    MemoryHub::Held held = hub.hold("x", &a.inbox);
    CHECK(held.head == 1);
    REQUIRE(held.events.size() == 1);
    CHECK(*held.events[0]->encoded == "new life");
    // Redis rewinds: readers taking up the channel now see only what Redis holds.
    hub.deliver_sequenced("s", 1, "a", "");
    hub.deliver_sequenced("s", 2, "b", "");
    Message m;
    m.channel = "s";
    m.position = 1;
    m.payload = "a2";
    hub.rewind_sequenced("s", {m});
    MemoryHub::Held s = hub.hold("s", &a.inbox);
    REQUIRE(s.events.size() == 1);
    CHECK(*s.events[0]->encoded == "a2");
    hub.detach(&a.inbox);
}

TEST_CASE("the shared history is bounded once per process: idle channels go first",
          "[broker][hub][interest]") {
    MemoryHub hub;
    hub.set_history_budget(300);  // three 100-byte events
    TestInbox a;
    hub.attach(&a.inbox);
    a.hold(hub, {"read"});
    std::string payload(100, 'x');
    hub.publish("read", payload, "");
    hub.publish("idle1", payload, "");
    hub.publish("idle2", payload, "");
    CHECK(hub.history_stats().bytes == 300);
    hub.publish("idle3", payload, "");  // over: the least recently used idle channel goes
    auto stats = hub.history_stats();
    CHECK(stats.bytes == 300);
    CHECK(stats.evicted_idle == 1);
    CHECK(hub.hold("idle1", &a.inbox).events.empty());
    CHECK(hub.hold("idle1", &a.inbox).head == 1);  // its head stays: positions are not reused
    hub.release("idle1", &a.inbox);
    CHECK(hub.hold("read", &a.inbox).events.size() == 1);  // the channel with a reader kept its
    // Lowering the budget evicts at once (the channel without readers first).
    hub.release("read", &a.inbox);
    hub.set_history_budget(100);
    stats = hub.history_stats();
    CHECK(stats.bytes == 100);
    hub.detach(&a.inbox);
}
