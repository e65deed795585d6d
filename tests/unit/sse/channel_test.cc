#include <catch2/catch.hpp>

#include <vector>

#include "gateway/sse/channel.h"
#include "gateway/sse/encode.h"

using namespace sluice;

namespace {

history::StoredEvent make_event(uint64_t pos, std::string type = "chunk") {
    history::StoredEvent ev;
    ev.position = pos;
    ev.encoded = make_shared_bytes(sse::encode_event(pos, "", "{\"type\":\"" + type + "\"}"));
    ev.type = type;
    ev.at = std::chrono::steady_clock::now();
    return ev;
}

struct Recorder : sse::Subscriber {
    std::vector<uint64_t> seen;
    sse::Channel* unsubscribe_on_event = nullptr;
    Recorder* also_unsubscribe = nullptr;
    void on_channel_event(sse::Channel& ch, const history::StoredEvent& ev) override {
        seen.push_back(ev.position);
        if (unsubscribe_on_event) ch.unsubscribe(*this);
        if (also_unsubscribe) ch.unsubscribe(*also_unsubscribe);
    }
};

}  // namespace

TEST_CASE("publish appends to history and reaches every subscriber once", "[sse][channel]") {
    sse::Channel ch("c", history::HistoryLimits{});
    Recorder a, b;
    ch.subscribe(a);
    ch.subscribe(b);
    ch.subscribe(a);  // twice is once
    ch.publish(make_event(1));
    ch.publish(make_event(2));
    CHECK(a.seen == std::vector<uint64_t>{1, 2});
    CHECK(b.seen == std::vector<uint64_t>{1, 2});
    CHECK(ch.history().head() == 2);
    CHECK(ch.subscriber_count() == 2);
}

TEST_CASE("subscribers may leave during a fan-out without others missing the event",
          "[sse][channel]") {
    sse::Channel ch("c", history::HistoryLimits{});
    Recorder a, b, c;
    a.unsubscribe_on_event = &ch;
    a.also_unsubscribe = &c;  // removes a later subscriber mid-iteration
    ch.subscribe(a);
    ch.subscribe(b);
    ch.subscribe(c);
    ch.publish(make_event(1));
    CHECK(a.seen == std::vector<uint64_t>{1});
    CHECK(b.seen == std::vector<uint64_t>{1});
    CHECK(c.seen.empty());
    CHECK(ch.subscriber_count() == 1);
    ch.publish(make_event(2));
    CHECK(a.seen.size() == 1);
    CHECK(b.seen == std::vector<uint64_t>{1, 2});
}

TEST_CASE("the window reports a terminal event only when it is the newest", "[sse][channel]") {
    sse::Channel ch("c", history::HistoryLimits{});
    std::vector<std::string> terminal{"done", "error"};
    ch.publish(make_event(1));
    CHECK_FALSE(ch.window(terminal).terminal);
    ch.publish(make_event(2, "done"));
    auto w = ch.window(terminal);
    REQUIRE(w.terminal);
    CHECK(*w.terminal == 2);
    CHECK_FALSE(ch.window({}).terminal);  // terminal: [] turns it off
    ch.publish(make_event(3));            // the channel went on after "done"
    CHECK_FALSE(ch.window(terminal).terminal);
}

TEST_CASE("a channel that ended stays ended after its terminal event expired", "[sse][channel]") {
    // Soak finding: a resume at the terminal event of a bursty channel whose local history
    // had expired was answered 200 instead of 204 (EventSource reconnected forever).
    history::HistoryLimits limits;
    limits.ttl = std::chrono::milliseconds(10);
    sse::Channel ch("c", limits);
    std::vector<std::string> terminal{"done"};
    ch.publish(make_event(1));
    ch.publish(make_event(2, "done"));
    ch.history().expire(std::chrono::steady_clock::now() + std::chrono::seconds(1));
    REQUIRE(ch.history().empty());
    auto w = ch.window(terminal);
    REQUIRE(w.terminal);
    CHECK(*w.terminal == 2);
    sse::ResumeRequest rr;
    rr.position = 2;
    CHECK(sse::decide_resume(rr, w).action == sse::ResumeDecision::Action::NoContent);
}

TEST_CASE("a head learned without its event is not taken for terminal", "[sse][channel]") {
    sse::Channel ch("c", history::HistoryLimits{});
    std::vector<std::string> terminal{"done"};
    ch.publish(make_event(1, "done"));
    ch.history().advance_head(5);  // e.g. the broker reported position 5
    CHECK_FALSE(ch.window(terminal).terminal);
    ch.reset();
    CHECK_FALSE(ch.window(terminal).terminal);
}
