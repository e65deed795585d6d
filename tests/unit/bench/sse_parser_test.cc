#include "bench/sluice_bench/sse_parser.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using sluice::bench::SseEvent;
using sluice::bench::SseHandler;
using sluice::bench::SseParser;

namespace {

struct Seen {
    std::string type, data, id;
};

struct Recorder : SseHandler {
    std::vector<Seen> events;
    std::vector<std::string> comments;
    std::vector<uint64_t> retries;
    void on_event(const SseEvent& ev) override {
        events.push_back(
            {std::string(ev.type), std::string(ev.data), std::string(ev.last_event_id)});
    }
    void on_comment(std::string_view text) override { comments.emplace_back(text); }
    void on_retry(uint64_t ms) override { retries.push_back(ms); }
};

// Feeds `body` in pieces of `step` bytes.
Recorder parse(std::string_view body, std::size_t step = 0) {
    SseParser p;
    Recorder r;
    if (step == 0) step = body.size() ? body.size() : 1;
    for (std::size_t i = 0; i < body.size(); i += step) REQUIRE(p.feed(body.substr(i, step), r));
    return r;
}

}  // namespace

TEST_CASE("sse parser: id, event and data fields make one event", "[bench][sse_parser]") {
    auto r = parse("id: 7\nevent: update\ndata: hello\n\n");
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].id == "7");
    CHECK(r.events[0].type == "update");
    CHECK(r.events[0].data == "hello");
}

TEST_CASE("sse parser: an event without event: is a message", "[bench][sse_parser]") {
    auto r = parse("data: x\n\n");
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].type == "message");
    CHECK(r.events[0].id.empty());
}

TEST_CASE("sse parser: data lines are joined with LF", "[bench][sse_parser]") {
    auto r = parse("data: one\ndata: two\ndata:\ndata: four\n\n");
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].data == "one\ntwo\n\nfour");
}

TEST_CASE("sse parser: only one space after the colon is removed", "[bench][sse_parser]") {
    auto r = parse("data:no-space\n\ndata:  two spaces\n\n");
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[0].data == "no-space");
    CHECK(r.events[1].data == " two spaces");
}

TEST_CASE("sse parser: CRLF, CR and LF all end lines", "[bench][sse_parser]") {
    auto r = parse("data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r");
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[0].data == "a\nb\nc");
    CHECK(r.events[1].data == "d");
}

TEST_CASE("sse parser: a CRLF split across chunks is one line end", "[bench][sse_parser]") {
    SseParser p;
    Recorder r;
    REQUIRE(p.feed("data: a\r", r));
    REQUIRE(p.feed("\ndata: b\r", r));
    REQUIRE(p.feed("\n\r", r));
    REQUIRE(p.feed("\n", r));
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].data == "a\nb");
}

TEST_CASE("sse parser: byte-at-a-time input gives the same events", "[bench][sse_parser]") {
    std::string body = "retry: 2000\n\nid: 1\ndata: {\"a\":1}\n\n: heartbeat\n\n"
                       "id: 2\r\nevent: gap\r\ndata: {\"from\":3,\"to\":4}\r\n\r\n";
    auto whole = parse(body);
    auto bytes = parse(body, 1);
    REQUIRE(whole.events.size() == 2);
    REQUIRE(bytes.events.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(bytes.events[i].data == whole.events[i].data);
        CHECK(bytes.events[i].type == whole.events[i].type);
        CHECK(bytes.events[i].id == whole.events[i].id);
    }
    CHECK(bytes.events[1].type == "gap");
    CHECK(bytes.retries == std::vector<uint64_t>{2000});
    CHECK(bytes.comments == std::vector<std::string>{" heartbeat"});
}

TEST_CASE("sse parser: comments are reported and do not dispatch", "[bench][sse_parser]") {
    auto r = parse(": heartbeat\n\n:\n\n");
    CHECK(r.events.empty());
    CHECK(r.comments == std::vector<std::string>{" heartbeat", ""});
}

TEST_CASE("sse parser: the id persists to later events without id", "[bench][sse_parser]") {
    auto r = parse("id: 5\ndata: a\n\ndata: b\n\nid\ndata: c\n\n");
    REQUIRE(r.events.size() == 3);
    CHECK(r.events[0].id == "5");
    CHECK(r.events[1].id == "5");
    CHECK(r.events[2].id.empty());  // "id" with no value resets it
}

TEST_CASE("sse parser: an id containing NUL is ignored", "[bench][sse_parser]") {
    using namespace std::string_literals;
    auto r = parse("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"s);
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[1].id == "1");
}

TEST_CASE("sse parser: a block without data dispatches nothing but sets the id",
          "[bench][sse_parser]") {
    SseParser p;
    Recorder r;
    REQUIRE(p.feed("id: 9\nevent: ping\n\ndata: x\n\n", r));
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].type == "message");  // the event type does not carry over
    CHECK(r.events[0].id == "9");
    CHECK(p.last_event_id() == "9");
}

TEST_CASE("sse parser: retry needs digits only; unknown fields are ignored",
          "[bench][sse_parser]") {
    auto r = parse("retry: 15x\nretry: 3000\nfoo: bar\ndata\n\n");
    CHECK(r.retries == std::vector<uint64_t>{3000});
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].data.empty());  // "data" without a colon appends an empty line
}

TEST_CASE("sse parser: a leading BOM is skipped, even split, but only once",
          "[bench][sse_parser]") {
    SseParser p;
    Recorder r;
    REQUIRE(p.feed("\xEF", r));
    REQUIRE(p.feed("\xBB\xBF" "data: a\n\n", r));
    REQUIRE(p.feed("\xEF\xBB\xBF" "data: b\n\n", r));
    REQUIRE(r.events.size() == 1);  // the second BOM makes an unknown field name
    CHECK(r.events[0].data == "a");
}

TEST_CASE("sse parser: a half-open event at the end of a stream is dropped on restart",
          "[bench][sse_parser]") {
    SseParser p;
    Recorder r;
    REQUIRE(p.feed("id: 4\ndata: a\n\nid: 5\ndata: partial", r));
    CHECK(p.last_event_id() == "4");
    p.restart();
    REQUIRE(p.feed("data: fresh\n\n", r));
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[1].data == "fresh");
    CHECK(r.events[1].id == "4");  // kept across the reconnect, as EventSource does
}

TEST_CASE("sse parser: input past the buffer limit fails the parser", "[bench][sse_parser]") {
    SseParser p(16);
    Recorder r;
    CHECK_FALSE(p.feed("data: 0123456789abcdef", r));
    CHECK(p.failed());
    CHECK_FALSE(p.feed("\n\n", r));
    CHECK(r.events.empty());
}
