#include <catch2/catch.hpp>

#include <string>

#include "gateway/sse/encode.h"
#include "gateway/sse/sse_stream.h"

using namespace sluice;

namespace {

struct FakeSink : sse::StreamSink {
    std::string written;       // everything the socket accepted
    std::string pending;       // sent but "not yet accepted by the socket"
    bool accept_writes = true;
    bool finished = false, aborted = false;
    sse::CloseReason reason = sse::CloseReason::Client;
    uint64_t now = 0;

    void send(SharedBytes b) override { send(std::string(*b)); }
    void send(std::string b) override { (accept_writes ? written : pending) += b; }
    uint64_t unsent_bytes() const override { return pending.size(); }
    void finish(sse::CloseReason why) override { finished = true; reason = why; }
    void abort(sse::CloseReason why) override { aborted = true; reason = why; }
    uint64_t now_ms() const override { return now; }
    void drain_all() { written += pending; pending.clear(); }
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
    config::SseRoute route;
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

TEST_CASE("live events beyond client_buffer disconnect the client", "[sse][stream]") {
    Fixture f;
    sse::SseStream s(f.sink, f.wheel, f.counters, f.settings);
    s.start(f.channel, sse::ResumeDecision{});
    f.sink.accept_writes = false;  // the client stopped reading
    for (uint64_t i = 1; i <= 10 && !f.sink.aborted; ++i)
        f.channel.publish(event(i, std::string(30, 'x')));
    CHECK(f.sink.aborted);
    CHECK(f.sink.reason == sse::CloseReason::Slow);
    CHECK(f.counters.slow == 1);
    CHECK(f.channel.subscriber_count() == 0);
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
        s.on_drained();
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
    f.route.heartbeat.mode = config::HeartbeatMode::Data;
    f.sink.now = 2600;
    f.wheel.advance(2600);
    CHECK(count(f.sink.written, "data: {\"type\":\"heartbeat\"}\n\n") == 1);
}

namespace {

// A broker history that answers only when the test says so.
struct HeldSource : sse::HistorySource {
    FetchFn pending;
    bool can_fetch() const override { return true; }
    void fetch(const std::string&, uint64_t, uint64_t, FetchFn cb) override { pending = std::move(cb); }
};

}  // namespace

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
