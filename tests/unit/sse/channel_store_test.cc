// ChannelStore (issue 8, "Exactness"): reading creates no lasting state, the history byte
// budget evicts least recently used idle channels first and never reuses positions, and
// the process hears when a loop's copy of a channel is empty.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "gateway/sse/channel.h"
#include "gateway/sse/encode.h"

using namespace sluice;

namespace {

history::StoredEvent event_of(uint64_t pos, size_t payload_bytes) {
    history::StoredEvent ev;
    ev.position = pos;
    ev.encoded = make_shared_bytes(sse::encode_event(pos, "", std::string(payload_bytes, 'x')));
    ev.at = std::chrono::steady_clock::now();
    return ev;
}

struct Reader : sse::Subscriber {
    void on_channel_event(sse::Channel&, const history::StoredEvent&) override {}
};

struct Fixture {
    std::vector<std::string> dropped;
    std::vector<std::pair<std::string, uint64_t>> emptied;
    sse::ChannelStore store;
    explicit Fixture(uint64_t budget) : store(hooks(), budget) {}
    sse::ChannelStore::Hooks hooks() {
        sse::ChannelStore::Hooks h;
        h.on_drop = [this](const std::string& n) { dropped.push_back(n); };
        h.on_emptied = [this](const std::string& n, uint64_t head) { emptied.emplace_back(n, head); };
        return h;
    }
    // What the worker does with a broker event.
    sse::Channel& deliver(const std::string& name, uint64_t pos, size_t bytes = 100) {
        sse::Channel& ch = store.open(name, history::HistoryLimits{});
        ch.publish(event_of(pos, bytes));
        store.after_event(ch);
        return ch;
    }
    uint64_t sum_of_channels() {
        uint64_t total = 0;
        for (const char* n : {"a", "b", "c", "d", "e"})
            if (sse::Channel* ch = store.find(n)) total += ch->history().bytes();
        return total;
    }
};

}  // namespace

TEST_CASE("a channel opened for a reader that does not attach is gone at the end of the turn",
          "[sse][store]") {
    Fixture f(0);
    for (int i = 0; i < 100; ++i) f.store.open("unknown-" + std::to_string(i), history::HistoryLimits{});
    CHECK(f.store.size() == 100);
    CHECK(f.store.drop_unused() == 100);
    CHECK(f.store.size() == 0);
    CHECK(f.dropped.size() == 100);
    CHECK(f.emptied.empty());  // it never held an event: nothing to tell the process
}

TEST_CASE("a reader's channel lives while a reader is attached and goes with the last one",
          "[sse][store]") {
    Fixture f(0);
    sse::Channel& ch = f.store.open("r", history::HistoryLimits{});
    Reader one, two;
    ch.subscribe(one);
    ch.subscribe(two);
    CHECK(f.store.drop_unused() == 0);
    ch.unsubscribe(one);
    CHECK(f.store.drop_unused() == 0);
    CHECK(f.store.find("r") != nullptr);
    ch.unsubscribe(two);
    CHECK(f.store.drop_unused() == 1);
    CHECK(f.store.find("r") == nullptr);
}

TEST_CASE("a reader's channel that receives an event becomes a channel holding events",
          "[sse][store]") {
    Fixture f(0);
    sse::Channel& ch = f.store.open("r", history::HistoryLimits{});
    Reader reader;
    ch.subscribe(reader);
    f.deliver("r", 1);
    ch.unsubscribe(reader);
    CHECK(f.store.drop_unused() == 0);  // it holds an event now
    CHECK(f.store.holding_events() == 1);
}

TEST_CASE("the byte ledger follows every change of every history", "[sse][store]") {
    Fixture f(0);
    f.deliver("a", 1, 50);
    f.deliver("a", 2, 70);
    f.deliver("b", 1, 10);
    CHECK(f.store.bytes() == f.sum_of_channels());
    CHECK(f.store.bytes() > 0);
    auto later = std::chrono::steady_clock::now() + std::chrono::hours(2);
    f.store.sweep(later);  // everything expires
    CHECK(f.store.bytes() == 0);
}

TEST_CASE("over the budget, idle channels lose their history first, least recently used first",
          "[sse][store]") {
    // Each event is ~110 bytes encoded; the budget holds about four.
    uint64_t one = event_of(1, 100).encoded->size();
    Fixture f(4 * one + one / 2);
    f.deliver("a", 1);  // oldest, but a stream keeps it
    Reader stream;
    f.store.find("a")->subscribe(stream);
    f.deliver("b", 1);  // least recently used idle channel
    f.deliver("c", 1);
    f.deliver("d", 1);
    CHECK(f.emptied.empty());
    f.deliver("e", 1);  // over the budget: "b" goes
    CHECK(f.store.bytes() <= 4 * one + one / 2);
    CHECK(f.store.find("a")->history().size() == 1);
    CHECK(f.store.find("b")->history().empty());
    CHECK(f.store.find("b")->history().head() == 1);  // head kept: position 1 is never reused
    CHECK(f.store.find("c")->history().size() == 1);
    CHECK(f.store.budget_evictions().idle_channel == 1);
    CHECK(f.store.budget_evictions().oldest == 0);
    REQUIRE(f.emptied.size() == 1);
    CHECK(f.emptied[0] == std::make_pair(std::string("b"), uint64_t{1}));

    // A reader touching "c" makes "d" the least recently used idle channel.
    f.store.touch(*f.store.find("c"));
    f.deliver("e", 2);
    CHECK(f.store.find("d")->history().empty());
    CHECK(f.store.find("c")->history().size() == 1);
    CHECK(f.store.find("a")->history().size() == 1);
    f.store.find("a")->unsubscribe(stream);
}

TEST_CASE("with only busy channels left, their oldest events go, but never the event just stored",
          "[sse][store]") {
    uint64_t one = event_of(1, 100).encoded->size();
    Fixture f(3 * one);
    Reader ra, rb;
    f.store.open("a", history::HistoryLimits{}).subscribe(ra);
    f.store.open("b", history::HistoryLimits{}).subscribe(rb);
    f.deliver("a", 1);
    f.deliver("a", 2);
    f.deliver("b", 1);
    f.deliver("b", 2);  // over: the oldest event of the least recently used channel goes
    CHECK(f.store.bytes() <= 3 * one);
    CHECK(f.store.find("a")->history().oldest() == 2);
    CHECK(f.store.find("a")->history().head() == 2);
    CHECK(f.store.budget_evictions().oldest == 1);
    // One event larger than the whole budget is still kept (it was answered as stored).
    f.deliver("b", 3, 10 * one);
    REQUIRE(f.store.find("b")->history().size() == 1);
    CHECK(f.store.find("b")->history().newest()->position == 3);
    CHECK(f.store.find("a")->history().empty());
    f.store.find("a")->unsubscribe(ra);
    f.store.find("b")->unsubscribe(rb);
}

TEST_CASE("an event the copy could not keep is still reported, once", "[sse][store]") {
    Fixture f(0);
    history::HistoryLimits tiny;
    tiny.max_bytes = 10;  // the ring cannot hold the event
    sse::Channel& ch = f.store.open("t", tiny);
    ch.publish(event_of(1, 100));
    f.store.after_event(ch);
    REQUIRE(f.emptied.size() == 1);
    CHECK(f.emptied[0].second == 1);
    f.store.sweep(std::chrono::steady_clock::now());
    CHECK(f.emptied.size() == 1);
    CHECK(f.store.find("t") == nullptr);  // it never held an event: no lasting state
}

TEST_CASE("lowering the budget evicts at once", "[sse][store]") {
    Fixture f(0);
    f.deliver("a", 1);
    f.deliver("b", 1);
    f.store.set_budget(1);
    CHECK(f.store.bytes() == 0);
    CHECK(f.store.budget_evictions().idle_channel == 2);
    CHECK(f.emptied.size() == 2);
}
