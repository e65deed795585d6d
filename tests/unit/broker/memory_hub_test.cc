#include <catch2/catch.hpp>

#include <thread>

#include "gateway/broker/memory_hub.h"

using namespace sluice::broker;

namespace {

struct TestInbox {
    MemoryHub::Inbox inbox;
    int wakes = 0;
    TestInbox() { inbox.wake = [this] { ++wakes; }; }
    std::vector<MemoryHub::MessagePtr> take() {
        std::lock_guard<std::mutex> lock(inbox.mutex);
        std::vector<MemoryHub::MessagePtr> out;
        out.swap(inbox.queue);
        return out;
    }
};

}  // namespace

TEST_CASE("publish assigns dense positions per channel and reaches every inbox", "[broker][hub]") {
    MemoryHub hub(std::chrono::seconds(1));
    TestInbox a, b;
    hub.attach(&a.inbox);
    hub.attach(&b.inbox);
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
    MemoryHub hub(std::chrono::seconds(1));
    TestInbox a;
    hub.attach(&a.inbox);
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
    MemoryHub hub(std::chrono::seconds(1));
    TestInbox a;
    hub.attach(&a.inbox);
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
    MemoryHub hub(std::chrono::seconds(1));
    TestInbox a;
    hub.attach(&a.inbox);
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

TEST_CASE("a head is forgotten only when no loop holds the channel", "[broker][hub]") {
    MemoryHub hub(std::chrono::milliseconds(0));
    hub.publish("x", "p", "");
    hub.channel_opened("x");
    hub.channel_opened("x");
    hub.channel_closed("x");
    CHECK(hub.head("x") == 1);  // one loop still holds it
    hub.channel_closed("x");
    CHECK(hub.head("x") == 0);  // idle and unheld: positions may start again
}

// limits.max_channels is decided in the hub (issue 8, "Exactness"): nothing is
// acknowledged that is not stored, and channels stop counting once every loop's copy is
// empty.
TEST_CASE("at max_channels a publish to a new channel is refused and leaves no trace",
          "[broker][hub][cap]") {
    MemoryHub hub(std::chrono::seconds(1), 2);
    TestInbox a, b;
    hub.attach(&a.inbox);
    hub.attach(&b.inbox);
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

TEST_CASE("a channel stops counting once every loop reported its copy empty",
          "[broker][hub][cap]") {
    MemoryHub hub(std::chrono::seconds(1), 1);
    TestInbox a, b;
    hub.attach(&a.inbox);
    hub.attach(&b.inbox);
    CHECK(hub.publish("one", "p", "") == 1);
    hub.copy_emptied("one", &a.inbox, 1);
    CHECK(hub.stored_channels() == 1);  // loop b may still hold it
    CHECK(hub.publish("two", "p", "") == 0);
    hub.copy_emptied("one", &a.inbox, 1);  // twice is once
    CHECK(hub.stored_channels() == 1);
    hub.copy_emptied("one", &b.inbox, 1);
    CHECK(hub.stored_channels() == 0);
    CHECK(hub.publish("two", "p", "") == 1);
    // A report older than the newest queued event does not count: it is on its way.
    CHECK(hub.publish("two", "p", "") == 2);
    hub.copy_emptied("two", &a.inbox, 1);
    hub.copy_emptied("two", &b.inbox, 1);
    CHECK(hub.stored_channels() == 1);
    hub.copy_emptied("two", &a.inbox, 2);
    hub.copy_emptied("two", &b.inbox, 2);
    CHECK(hub.stored_channels() == 0);
    // The head outlives the events: the next event continues the count.
    CHECK(hub.publish("two", "p", "") == 3);
    hub.detach(&a.inbox);
    hub.detach(&b.inbox);
}

TEST_CASE("a Redis PUBLISH at the cap is dropped, counted, and uses up its position",
          "[broker][hub][cap]") {
    MemoryHub hub(std::chrono::seconds(1), 1);
    TestInbox a;
    hub.attach(&a.inbox);
    CHECK(hub.publish("one", "p", "", nullptr, MemoryHub::AtCap::Skip) == 1);
    CHECK(hub.publish("two", "p", "", nullptr, MemoryHub::AtCap::Skip) == 0);
    CHECK(hub.dropped_at_cap() == 1);
    CHECK(hub.head("two") == 1);  // a reader resuming on "two" sees a gap at 1
    hub.copy_emptied("one", &a.inbox, 1);
    CHECK(hub.publish("two", "p", "", nullptr, MemoryHub::AtCap::Skip) == 2);
    auto got = a.take();
    REQUIRE(got.size() == 2);
    CHECK(got[1]->channel == "two");
    CHECK(got[1]->position == 2);
    hub.detach(&a.inbox);
}

TEST_CASE("a sequenced event at the cap moves the head past it and is counted",
          "[broker][hub][cap]") {
    MemoryHub hub(std::chrono::seconds(1), 1);
    TestInbox a;
    hub.attach(&a.inbox);
    CHECK(hub.deliver_sequenced("one", 1, "p", ""));
    CHECK_FALSE(hub.deliver_sequenced("two", 4, "p", ""));
    CHECK(hub.head("two") == 4);
    CHECK(hub.dropped_at_cap() == 1);
    CHECK(a.take().size() == 1);
    hub.detach(&a.inbox);
}

TEST_CASE("a loop keeps Redis history for a reader only within the cap", "[broker][hub][cap]") {
    MemoryHub hub(std::chrono::seconds(1), 1);
    TestInbox a, b;
    hub.attach(&a.inbox);
    hub.attach(&b.inbox);
    CHECK(hub.adopt("seeded", &a.inbox));
    CHECK(hub.stored_channels() == 1);
    CHECK_FALSE(hub.adopt("other", &b.inbox));
    // Only loop a holds it: its report alone frees the slot.
    hub.copy_emptied("seeded", &a.inbox, 0);
    CHECK(hub.stored_channels() == 0);
    CHECK(hub.adopt("other", &b.inbox));
    hub.detach(&a.inbox);
    hub.detach(&b.inbox);
}

TEST_CASE("a channel a reader opened that never had an event is forgotten when it closes",
          "[broker][hub][cap]") {
    MemoryHub hub(std::chrono::hours(1));
    hub.channel_opened("nobody-publishes");
    CHECK(hub.channel_count() == 1);
    hub.channel_closed("nobody-publishes");
    CHECK(hub.channel_count() == 0);
}
