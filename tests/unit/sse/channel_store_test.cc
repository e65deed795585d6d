// ChannelStore (issues 8 and 12): reading creates no lasting state. A loop keeps a channel
// only while it has a reader of it; the events themselves are held once per process by the
// broker's shared history (tested in tests/unit/broker/), so a loop drops its channel with
// its last reader, events or not.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "gateway/sse/channel.h"
#include "gateway/sse/encode.h"

using namespace sluice;

namespace {

history::StoredEvent event_of(uint64_t pos, std::chrono::steady_clock::time_point at) {
    history::StoredEvent ev;
    ev.position = pos;
    ev.encoded = make_shared_bytes(sse::encode_event(pos, "", "payload"));
    ev.at = at;
    return ev;
}

struct Reader : sse::Subscriber {
    void on_channel_event(sse::Channel&, const history::StoredEvent&) override {}
};

// History limits whose events expire 10 ms after they were stamped.
history::HistoryLimits ten_ms_ttl() {
    history::HistoryLimits limits;
    limits.ttl = std::chrono::milliseconds(10);
    return limits;
}

// kSweepRounds calls: every channel visited once.
size_t sweep_round(sse::ChannelStore& store, std::chrono::steady_clock::time_point now) {
    size_t expired = 0;
    for (size_t i = 0; i < sse::ChannelStore::kSweepRounds; ++i) expired += store.sweep(now);
    return expired;
}

struct Fixture {
    std::vector<std::string> dropped;
    sse::ChannelStore store{hooks()};
    sse::ChannelStore::Hooks hooks() {
        sse::ChannelStore::Hooks h;
        h.on_drop = [this](const std::string& n) { dropped.push_back(n); };
        return h;
    }
};

}  // namespace

TEST_CASE("a channel opened for a reader that does not attach is gone at the end of the turn",
          "[sse][store]") {
    Fixture f;
    for (int i = 0; i < 100; ++i) f.store.open("unknown-" + std::to_string(i), history::HistoryLimits{});
    CHECK(f.store.size() == 100);
    CHECK(f.store.drop_unused() == 100);
    CHECK(f.store.size() == 0);
    CHECK(f.dropped.size() == 100);
}

TEST_CASE("a reader's channel lives while a reader is attached and goes with the last one",
          "[sse][store]") {
    Fixture f;
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
    CHECK(f.dropped == std::vector<std::string>{"r"});
}

TEST_CASE("a channel that received events still goes with its last reader", "[sse][store]") {
    // Its events are in the process's shared history: a later reader gets them from there.
    Fixture f;
    sse::Channel& ch = f.store.open("r", history::HistoryLimits{});
    Reader reader;
    ch.subscribe(reader);
    ch.publish(event_of(1, std::chrono::steady_clock::now()));
    ch.publish(event_of(2, std::chrono::steady_clock::now()));
    ch.unsubscribe(reader);
    CHECK(f.store.drop_unused() == 1);
    CHECK(f.store.size() == 0);
}

TEST_CASE("a reader that leaves and another that comes in the same turn keep the channel",
          "[sse][store]") {
    Fixture f;
    sse::Channel& ch = f.store.open("r", history::HistoryLimits{});
    Reader first, second;
    ch.subscribe(first);
    CHECK(f.store.drop_unused() == 0);
    ch.unsubscribe(first);
    ch.subscribe(second);
    CHECK(f.store.drop_unused() == 0);
    CHECK(f.store.find("r") == &ch);
    CHECK(f.dropped.empty());
}

TEST_CASE("the sweep expires the loop's events and keeps channels that have readers",
          "[sse][store]") {
    Fixture f;
    const history::HistoryLimits short_ttl = ten_ms_ttl();
    auto t0 = std::chrono::steady_clock::now();
    sse::Channel& watched = f.store.open("watched", short_ttl);
    Reader reader;
    watched.subscribe(reader);
    watched.publish(event_of(1, t0));
    watched.publish(event_of(2, t0 + std::chrono::milliseconds(5)));
    CHECK(sweep_round(f.store, t0 + std::chrono::milliseconds(12)) == 1);  // 1 expired, 2 not yet
    CHECK(watched.history().size() == 1);
    CHECK(watched.history().head() == 2);  // the head outlives its events
    CHECK(f.store.find("watched") == &watched);
    watched.unsubscribe(reader);
    // A channel without readers goes at the sweep too (not only at the end of the turn).
    CHECK(sweep_round(f.store, t0 + std::chrono::milliseconds(12)) == 0);
    CHECK(f.store.find("watched") == nullptr);
    CHECK(f.dropped == std::vector<std::string>{"watched"});
    CHECK(f.store.drop_unused() == 0);  // already gone: nothing dropped twice
}

TEST_CASE("one sweep visits a slice of the channels, and kSweepRounds sweeps visit all",
          "[sse][store]") {
    Fixture f;
    const history::HistoryLimits short_ttl = ten_ms_ttl();
    auto t0 = std::chrono::steady_clock::now();
    constexpr size_t kChannels = 500;
    std::vector<Reader> readers(kChannels);
    std::vector<sse::Channel*> channels;
    for (size_t i = 0; i < kChannels; ++i) {
        sse::Channel& ch = f.store.open("c" + std::to_string(i), short_ttl);
        ch.subscribe(readers[i]);
        ch.publish(event_of(1, t0));
        channels.push_back(&ch);
    }
    auto later = t0 + std::chrono::seconds(1);
    size_t first = f.store.sweep(later);
    CHECK(first > 0);
    CHECK(first < kChannels / 2);  // about a tenth (whole buckets), not every channel
    size_t rest = 0;
    for (size_t round = 1; round < sse::ChannelStore::kSweepRounds; ++round) rest += f.store.sweep(later);
    CHECK(first + rest == kChannels);
    for (sse::Channel* ch : channels) CHECK(ch->history().empty());
    CHECK(f.store.size() == kChannels);  // every one still has its reader
    for (size_t i = 1; i < kChannels; ++i) channels[i]->unsubscribe(readers[i]);
    CHECK(f.store.drop_unused() == kChannels - 1);
    // The table keeps its buckets when it empties: one round still reaches the last one.
    channels[0]->publish(event_of(2, later));
    CHECK(sweep_round(f.store, later + std::chrono::seconds(1)) == 1);
    CHECK(channels[0]->history().empty());
}

TEST_CASE("a channel that is written to expires its old events without the sweep",
          "[sse][store]") {
    Fixture f;
    const history::HistoryLimits short_ttl = ten_ms_ttl();
    auto t0 = std::chrono::steady_clock::now();
    sse::Channel& ch = f.store.open("busy", short_ttl);
    ch.publish(event_of(1, t0));
    ch.publish(event_of(2, t0 + std::chrono::milliseconds(5)));
    CHECK(ch.history().size() == 2);
    ch.publish(event_of(3, t0 + std::chrono::milliseconds(12)));  // 1 is older than the ttl
    CHECK(ch.history().size() == 2);
    CHECK(ch.history().oldest() == 2);
}

TEST_CASE("a channel is found by its broker handle while it is held, and not after",
          "[sse][store]") {
    Fixture f;
    sse::Channel& a = f.store.open("a", history::HistoryLimits{}, 41);
    sse::Channel& b = f.store.open("b", history::HistoryLimits{}, 42);
    sse::Channel& none = f.store.open("no-handle", history::HistoryLimits{});
    CHECK(f.store.find_by_id(41) == &a);
    CHECK(f.store.find_by_id(42) == &b);
    CHECK(a.id() == 41);
    CHECK(none.id() == 0);
    CHECK(f.store.find_by_id(0) == nullptr);
    CHECK(&f.store.open("a", history::HistoryLimits{}, 41) == &a);  // opened again: the same
    Reader reader;
    b.subscribe(reader);
    CHECK(f.store.drop_unused() == 2);  // a and no-handle: no reader attached
    CHECK(f.store.find_by_id(41) == nullptr);
    CHECK(f.store.find_by_id(42) == &b);
    b.unsubscribe(reader);
    CHECK(f.store.drop_unused() == 1);
    CHECK(f.store.find_by_id(42) == nullptr);
    CHECK(f.store.size() == 0);
}
