#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "gateway/sse/encode.h"
#include "gateway/sse/sse_stream.h"

using namespace sluice;

namespace {

struct FakeSink : sse::StreamSink {
    std::string written;       // everything the socket accepted
    std::string pending;       // sent but "not yet accepted by the socket"
    size_t offered = 0;        // bytes of pending that a write attempt offered (refused)
    bool accept_writes = true;
    bool finished = false, aborted = false;
    sse::CloseReason reason = sse::CloseReason::Client;
    uint64_t now = 0;

    void send(SharedBytes b) override { send(std::string(*b)); }
    void send(std::string b) override { (accept_writes ? written : pending) += b; }
    uint64_t unsent_bytes() const override { return pending.size(); }
    uint64_t refused_bytes() const override { return std::min(offered, pending.size()); }
    void flush_and_close(sse::CloseReason why) override { finished = true; reason = why; }
    void close_now(sse::CloseReason why) override { aborted = true; reason = why; }
    uint64_t now_ms() const override { return now; }
    void drain_all() { written += pending; pending.clear(); offered = 0; }
    // The end-of-turn write: the socket is offered everything and takes nothing.
    void flush_refused() { offered = pending.size(); }
};

struct Counters : sse::StreamCounters {
    uint64_t events = 0, gaps = 0, slow = 0;
    void on_delivered(uint64_t e, uint64_t) override { events += e; }
    void on_gap() override { ++gaps; }
    void on_slow_disconnect() override { ++slow; }
};

history::StoredEvent event(uint64_t pos, const std::string& payload, const std::string& type = "") {
    history::StoredEvent ev;
    ev.position = pos;
    ev.encoded = make_shared_bytes(sse::encode_event(pos, "", payload));
    ev.type = type;
    ev.at = std::chrono::steady_clock::now();
    return ev;
}

struct Fixture {
    sse::SseRouteOptions route;
    FakeSink sink;
    Counters counters;
    TimerWheel wheel{100, 0, 64};
    sse::Channel channel{"c", history::HistoryLimits{}};
    sse::StreamSettings settings;
    Fixture() {
        route.heartbeat.interval = std::chrono::milliseconds(1000);
        settings.route = &route;
        settings.client_buffer = 100;
        settings.replay_window = 50;
    }
};

size_t count(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("a stream replays history after the resume point, then goes live", "[sse][stream]") {
    Fixture f;
    for (uint64_t i = 1; i <= 3; ++i) f.channel.publish(event(i, "e" + std::to_string(i)));
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{sse::ResumeDecision::Action::Stream, std::nullopt, 2});
    CHECK(f.sink.written == "id: 2\ndata: e2\n\nid: 3\ndata: e3\n\n");
    f.channel.publish(event(4, "e4"));
    CHECK(f.sink.written.find("id: 4\ndata: e4\n\n") != std::string::npos);
    CHECK(f.counters.events == 3);
    CHECK(s.next_position() == 5);
}

TEST_CASE("a gap is written before the rest of the stream", "[sse][stream]") {
    Fixture f;
    f.channel.publish(event(1, "a"));
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{sse::ResumeDecision::Action::Stream, sse::Gap{2, 5}, 2});
    CHECK(f.sink.written.rfind("event: gap\ndata: {\"from\":2,\"to\":5}\n\n", 0) == 0);
    CHECK(f.counters.gaps == 1);
    f.channel.publish(event(2, "b"));
    CHECK(f.sink.written.find("id: 2\ndata: b") != std::string::npos);
}

TEST_CASE("a terminal event is delivered and then the stream finishes", "[sse][stream]") {
    Fixture f;
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{});
    f.channel.publish(event(1, "{\"type\":\"done\"}", "done"));
    CHECK(f.sink.finished);
    CHECK(f.sink.reason == sse::CloseReason::Terminal);
    CHECK(f.sink.written.find("id: 1") != std::string::npos);
    CHECK(f.channel.subscriber_count() == 0);
}

// Moves the stream's clock (and the wheel) forward by ms.
void advance(Fixture& f, uint64_t ms) {
    f.sink.now += ms;
    f.wheel.advance(f.sink.now);
}

TEST_CASE("a stalled client over client_buffer for the grace is disconnected", "[sse][stream]") {
    Fixture f;
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{});
    f.sink.accept_writes = false;  // the client stopped reading
    uint64_t pos = 0;
    // One event per 100 ms turn, each refused by the socket: over the buffer after a few.
    while (!f.sink.aborted && pos < 100) {
        f.channel.publish(event(++pos, std::string(30, 'x')));
        f.sink.flush_refused();
        advance(f, 100);
    }
    CHECK(f.sink.aborted);
    CHECK(f.sink.reason == sse::CloseReason::Slow);
    CHECK(f.counters.slow == 1);
    CHECK(f.channel.subscriber_count() == 0);
    // Cut about kSlowGraceMs after it went over (3 events of 37 bytes > 100), not at once.
    CHECK(pos * 100 >= sse::kSlowGraceMs);
    CHECK(pos * 100 <= sse::kSlowGraceMs + 600);
}

TEST_CASE("a stalled client with one pending event larger than the buffer is cut without more events",
          "[sse][stream]") {
    Fixture f;
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{});
    f.sink.accept_writes = false;
    f.channel.publish(event(1, std::string(500, 'x')));
    f.sink.flush_refused();
    CHECK_FALSE(f.sink.aborted);  // queued this turn: not over yet
    advance(f, sse::kSlowGraceMs - 200);
    CHECK_FALSE(f.sink.aborted);
    advance(f, 300);  // the grace is over and no event came: the timer looks again
    CHECK(f.sink.aborted);
    CHECK(f.sink.reason == sse::CloseReason::Slow);
}

TEST_CASE("a reading client is never cut for one event larger than client_buffer", "[sse][stream]") {
    Fixture f;
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{});
    f.sink.accept_writes = false;  // the socket takes it over several writes
    f.channel.publish(event(1, std::string(1000, 'x')));  // 10x the buffer
    f.sink.flush_refused();
    advance(f, 300);
    f.channel.publish(event(2, "small"));  // arrives while most of event 1 is unsent
    CHECK_FALSE(f.sink.aborted);
    f.sink.drain_all();  // the client read it all
    s.on_low_water();
    advance(f, sse::kSlowGraceMs * 3);
    f.channel.publish(event(3, "after"));
    CHECK_FALSE(f.sink.aborted);
    CHECK(f.counters.slow == 0);
    CHECK(count(f.sink.written + f.sink.pending, "id: ") == 3);
}

TEST_CASE("a burst larger than client_buffer that arrives at once is not slow", "[sse][stream]") {
    Fixture f;
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{});
    f.sink.accept_writes = false;
    for (int round = 0; round < 5; ++round) {
        // 20 events (about 7x the buffer) in one loop turn, all delivered...
        for (int i = 0; i < 20; ++i)
            f.channel.publish(event(f.channel.history().head() + 1, std::string(30, 'b')));
        CHECK_FALSE(f.sink.aborted);
        f.sink.flush_refused();
        advance(f, 400);
        f.sink.drain_all();  // ...and read before the grace ends
        s.on_low_water();
        advance(f, 400);
    }
    CHECK_FALSE(f.sink.aborted);
    CHECK(count(f.sink.written, "id: ") == 100);
}

TEST_CASE("a long replay is paced by the socket and never counted as slow", "[sse][stream]") {
    Fixture f;
    for (uint64_t i = 1; i <= 40; ++i) f.channel.publish(event(i, std::string(30, 'y')));
    f.sink.accept_writes = false;
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{});
    // Only about replay_window bytes are queued at a time.
    CHECK(f.sink.pending.size() < 200);
    int rounds = 0;
    while (s.next_position() <= 40 && rounds++ < 100) {
        f.sink.drain_all();
        s.on_low_water();
    }
    f.sink.drain_all();
    CHECK_FALSE(f.sink.aborted);
    CHECK(count(f.sink.written, "id: ") == 40);
    CHECK(f.counters.slow == 0);
}

TEST_CASE("heartbeats are sent only after the stream was idle for the interval", "[sse][stream]") {
    Fixture f;
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{});
    f.sink.now = 600;
    f.wheel.advance(600);
    f.channel.publish(event(1, "x"));  // activity at 600 ms
    f.sink.now = 1000;
    f.wheel.advance(1000);
    CHECK(count(f.sink.written, ": heartbeat") == 0);
    f.sink.now = 1600;
    f.wheel.advance(1600);
    CHECK(count(f.sink.written, ": heartbeat\n\n") == 1);
    f.route.heartbeat.mode = sse::HeartbeatMode::Data;
    f.sink.now = 2600;
    f.wheel.advance(2600);
    CHECK(count(f.sink.written, "data: {\"type\":\"heartbeat\"}\n\n") == 1);
}

namespace {
// A broker history whose replies the test releases by hand.
struct DeferredHistory : sse::HistorySource {
    std::vector<std::pair<std::pair<uint64_t, uint64_t>, FetchFn>> asked;
    bool can_fetch() const override { return true; }
    void fetch(const std::string&, uint64_t from, uint64_t to, FetchFn cb) override {
        asked.push_back({{from, to}, std::move(cb)});
    }
};

// A broker history that answers only when the test says so.
struct HeldSource : sse::HistorySource {
    FetchFn pending;
    bool can_fetch() const override { return true; }
    void fetch(const std::string&, uint64_t, uint64_t, FetchFn cb) override { pending = std::move(cb); }
};

}  // namespace

TEST_CASE("events the ring evicted during a broker fetch are fetched too, not a gap",
          "[sse][stream]") {
    // Soak finding: on a busy channel with a small ring, the ring moved on while the
    // stream read older events from Redis; the stream then reported {N, N} over events
    // Redis held.
    Fixture f;
    history::HistoryLimits small;
    small.max_events = 2;
    sse::Channel ch("c", small);
    for (uint64_t i = 1; i <= 5; ++i) ch.publish(event(i, "e" + std::to_string(i)));  // ring: 4, 5
    DeferredHistory broker;
    f.settings.older = &broker;
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(ch, sse::ResumeDecision{sse::ResumeDecision::Action::Stream, sse::Gap{2, 3}, 4});
    REQUIRE(broker.asked.size() == 1);
    CHECK(broker.asked[0].first == std::pair<uint64_t, uint64_t>{2, 3});
    ch.publish(event(6, "e6"));  // ring: 5, 6 — 4 is gone while the fetch is away
    auto reply = std::move(broker.asked[0].second);
    reply({event(2, "e2"), event(3, "e3")});
    REQUIRE(broker.asked.size() == 2);
    CHECK(broker.asked[1].first == std::pair<uint64_t, uint64_t>{4, 4});
    auto reply2 = std::move(broker.asked[1].second);
    reply2({event(4, "e4")});
    CHECK(f.counters.gaps == 0);
    CHECK(f.sink.written == "id: 2\ndata: e2\n\nid: 3\ndata: e3\n\nid: 4\ndata: e4\n\n"
                            "id: 5\ndata: e5\n\nid: 6\ndata: e6\n\n");
}

TEST_CASE("a hole inside the ring stays a gap even when the broker keeps history",
          "[sse][stream]") {
    Fixture f;
    DeferredHistory broker;
    f.settings.older = &broker;
    f.channel.publish(event(1, "a"));
    f.channel.publish(event(3, "c"));  // 2 was dropped (a bad payload)
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{sse::ResumeDecision::Action::Stream, std::nullopt, 1});
    CHECK(broker.asked.empty());
    CHECK(f.counters.gaps == 1);
    CHECK(f.sink.written.find("event: gap\ndata: {\"from\":2,\"to\":2}") != std::string::npos);
}

TEST_CASE("a live reset tells the client its count is void, then delivers the new events",
          "[sse][stream]") {
    Fixture f;
    for (uint64_t i = 1; i <= 3; ++i) f.channel.publish(event(i, "old" + std::to_string(i)));
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{sse::ResumeDecision::Action::Stream, std::nullopt, 1});
    f.sink.written.clear();
    f.channel.reset();  // the broker restarted the channel's positions
    f.channel.publish(event(1, "new1"));
    f.channel.publish(event(2, "new2"));
    CHECK(f.sink.written ==
          "event: gap\ndata: {\"from\":1,\"to\":3,\"reset\":true}\n\n"
          "id: 1\ndata: new1\n\nid: 2\ndata: new2\n\n");
    CHECK(s.next_position() == 3);
}

TEST_CASE("a resume reset replays the new history from its oldest event", "[sse][stream]") {
    Fixture f;
    for (uint64_t i = 1; i <= 2; ++i) f.channel.publish(event(i, "new" + std::to_string(i)));
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    // The client claims 5; the channel restarted and has 1..2.
    s.start(f.channel, sse::decide_resume(sse::ResumeRequest{5}, f.channel.window(f.route.terminal)));
    CHECK(f.sink.written ==
          "event: gap\ndata: {\"from\":1,\"to\":5,\"reset\":true}\n\n"
          "id: 1\ndata: new1\n\nid: 2\ndata: new2\n\n");
    f.channel.publish(event(3, "new3"));
    CHECK(f.sink.written.find("id: 3\ndata: new3") != std::string::npos);
}

TEST_CASE("a reset during a backfill drops the previous life's events", "[sse][stream]") {
    Fixture f;
    HeldSource source;
    f.settings.older = &source;
    for (uint64_t i = 8; i <= 10; ++i) f.channel.publish(event(i, "e" + std::to_string(i)));
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    // Positions 3..7 are older than local history: asked of the broker.
    s.start(f.channel, sse::decide_resume(sse::ResumeRequest{2}, f.channel.window(f.route.terminal)));
    REQUIRE(source.pending);
    CHECK(f.sink.written.empty());
    f.channel.reset();
    f.channel.publish(event(1, "new1"));
    std::vector<history::StoredEvent> old;
    old.push_back(event(3, "old3"));
    source.pending(std::move(old));  // arrives after the reset: ignored
    CHECK(f.sink.written ==
          "event: gap\ndata: {\"from\":1,\"to\":2,\"reset\":true}\n\n"
          "id: 1\ndata: new1\n\n");
}

namespace {
// Drops even positions and rewrites position 3, for the stream test below.
struct OddOnly final : sse::EventFilter {
    bool keep(const history::StoredEvent& ev, SharedBytes& bytes) const override {
        if (ev.position % 2 == 0) return false;
        if (ev.position == 3) bytes = make_shared_bytes(sse::encode_event(3, "", "three"));
        return true;
    }
};
}  // namespace

TEST_CASE("a stream with an event filter sends only what the filter keeps, as it rewrote it",
          "[sse][stream][filter]") {
    Fixture f;
    OddOnly filter;
    f.settings.filter = &filter;
    for (uint64_t i = 1; i <= 2; ++i) f.channel.publish(event(i, "e" + std::to_string(i)));
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{sse::ResumeDecision::Action::Stream, std::nullopt, 1});
    for (uint64_t i = 3; i <= 5; ++i) f.channel.publish(event(i, "e" + std::to_string(i)));
    // Replayed (1, 2) and live (3..5): 2 and 4 dropped without a gap, 3 rewritten.
    CHECK(f.sink.written == "id: 1\ndata: e1\n\nid: 3\ndata: three\n\nid: 5\ndata: e5\n\n");
    CHECK(f.counters.gaps == 0);
    CHECK(s.next_position() == 6);
    CHECK(s.events_sent() == 3);
    s.detach();
}
