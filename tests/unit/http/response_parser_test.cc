// ResponseParser: head, streamed body pieces and the end of upstream responses, with every
// kind of framing, interim responses, HEAD replies and truncation.
#include "gateway/http/response_parser.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using sluice::http::BodyFraming;
using sluice::http::ResponseParser;
using Kind = sluice::http::ResponseParseResult::Kind;

namespace {

// Feeds everything (in pieces of `step` bytes) and records what came out.
struct Collected {
    int heads = 0;
    int completes = 0;
    std::string body;
    bool error = false;
    std::string reason;
};

Collected run(ResponseParser& p, std::string_view in, size_t step = SIZE_MAX) {
    Collected c;
    size_t off = 0;
    while (off < in.size() && !c.error) {
        size_t n = std::min(step, in.size() - off);
        const char* data = in.data() + off;
        size_t left = n;
        while (true) {
            auto r = p.feed(data, left);
            data += r.consumed;
            left -= r.consumed;
            if (r.kind == Kind::Head) ++c.heads;
            if (r.kind == Kind::Body) c.body.append(r.body);
            if (r.kind == Kind::Complete) {
                ++c.completes;
                if (left == 0) break;  // feeding again would start the next response
            }
            if (r.kind == Kind::Error) {
                c.error = true;
                c.reason = r.reason;
                break;
            }
            if (r.kind == Kind::NeedMore) break;
        }
        off += n;
    }
    return c;
}

}  // namespace

TEST_CASE("a Content-Length response gives head, body and end", "[http][response]") {
    ResponseParser p;
    std::string in =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    auto c = run(p, in);
    CHECK(c.heads == 1);
    CHECK(c.completes == 1);
    CHECK(c.body == "hello");
    CHECK(p.head().status == 200);
    CHECK(p.head().reason == "OK");
    CHECK(p.head().framing == BodyFraming::Length);
    CHECK(p.head().content_length == 5);
    CHECK(p.head().keep_alive);
    REQUIRE(p.head().header("content-type"));
    CHECK(*p.head().header("CONTENT-TYPE") == "text/plain");
}

TEST_CASE("a chunked response is decoded, byte by byte too", "[http][response]") {
    std::string in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: 1\r\n\r\n";
    for (size_t step : {size_t(1), size_t(7), SIZE_MAX}) {
        ResponseParser p;
        auto c = run(p, in, step);
        INFO("step " << step);
        CHECK(c.heads == 1);
        CHECK(c.completes == 1);
        CHECK(c.body == "abcdefg");
        CHECK(p.head().framing == BodyFraming::Chunked);
        CHECK(p.head().headers.size() == 1);  // the trailer is not merged
    }
}

TEST_CASE("a body without length runs until the server closes", "[http][response]") {
    ResponseParser p;
    auto c = run(p, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n");
    CHECK(c.heads == 1);
    CHECK(c.completes == 0);
    CHECK(c.body == "data: 1\n\n");
    CHECK(p.head().framing == BodyFraming::UntilClose);
    CHECK_FALSE(p.head().keep_alive);
    CHECK(p.end_of_input().kind == Kind::Complete);
}

TEST_CASE("a truncated Content-Length body is an error at close", "[http][response]") {
    ResponseParser p;
    run(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    CHECK(p.in_message());
    CHECK(p.end_of_input().kind == Kind::Error);
}

TEST_CASE("close between responses is not an error", "[http][response]") {
    ResponseParser p;
    CHECK_FALSE(p.in_message());
    CHECK(p.end_of_input().kind == Kind::NeedMore);
}

TEST_CASE("the response to HEAD has no body despite Content-Length", "[http][response]") {
    ResponseParser p;
    p.set_no_body(true);
    std::string in =
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    auto r = p.feed(in.data(), in.size());
    REQUIRE(r.kind == Kind::Head);
    CHECK(p.head().framing == BodyFraming::None);
    size_t off = r.consumed;
    r = p.feed(in.data() + off, in.size() - off);
    CHECK(r.kind == Kind::Complete);
    off += r.consumed;
    // The next response on the connection starts right after the first head.
    r = p.feed(in.data() + off, in.size() - off);
    CHECK(r.kind == Kind::Head);
    CHECK(p.head().status == 204);
}

TEST_CASE("204 and 304 have no body", "[http][response]") {
    for (std::string status : {"204 No Content", "304 Not Modified"}) {
        ResponseParser p;
        auto c = run(p, "HTTP/1.1 " + status + "\r\n\r\n");
        CHECK(c.heads == 1);
        CHECK(c.completes == 1);
        CHECK(p.head().framing == BodyFraming::None);
    }
}

// Found by tests/fuzz/response_parser_fuzz.cc: llhttp read a Content-Length body after these
// heads, which the parser had framed as bodiless, so the next response became "body".
TEST_CASE("1xx, 204 and 304 have no body even with a Content-Length", "[http][response]") {
    for (std::string status : {"100 Continue", "204 No Content", "304 Not Modified"}) {
        ResponseParser p;
        std::string in = "HTTP/1.1 " + status +
                         "\r\nContent-Length: 27\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        for (size_t step : {SIZE_MAX, size_t{1}}) {
            p.reset();
            auto c = run(p, in, step);
            INFO(status << " step " << step);
            CHECK_FALSE(c.error);
            CHECK(c.heads == 2);
            CHECK(c.completes == 2);
            CHECK(p.head().status == 200);
            CHECK(c.body == "ok");
        }
        ResponseParser alone;  // a lone head with a length is complete without more bytes
        auto c = run(alone, "HTTP/1.1 " + status + "\r\nContent-Length: 27\r\n\r\n");
        CHECK(c.heads == 1);
        CHECK(c.completes == 1);
        CHECK(alone.head().framing == BodyFraming::None);
    }
}

// Found by tests/fuzz/response_parser_fuzz.cc: "000" was taken for an interim status.
TEST_CASE("a status code outside 100-599 is an error", "[http][response]") {
    for (std::string status : {"000 OK", "099 X", "600 Beyond", "999 X"}) {
        ResponseParser p;
        auto c = run(p, "HTTP/1.1 " + status + "\r\nContent-Length: 5\r\n\r\nshort");
        CHECK(c.error);
        CHECK(c.reason == "invalid status code from upstream");
        CHECK(c.body.empty());
    }
}

TEST_CASE("an interim 100 response comes before the final one", "[http][response]") {
    ResponseParser p;
    std::string in =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    auto c = run(p, in);
    CHECK(c.heads == 2);
    CHECK(c.completes == 2);
    CHECK(p.head().status == 201);
    CHECK(c.body == "ok");
}

TEST_CASE("Connection: close and HTTP/1.0 responses are not kept alive", "[http][response]") {
    ResponseParser a;
    run(a, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    CHECK_FALSE(a.head().keep_alive);
    ResponseParser b;
    run(b, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    CHECK_FALSE(b.head().keep_alive);
    CHECK(b.head().version_minor == 0);
}

TEST_CASE("bad framing from upstream is an error", "[http][response]") {
    ResponseParser a;
    CHECK(
        run(a, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n").error);
    ResponseParser b;
    CHECK(run(b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").error);
    ResponseParser c;
    CHECK(run(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").error);
    ResponseParser d;
    CHECK(run(d, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n").error);
    ResponseParser e;
    CHECK(run(e, "garbage\r\n\r\n").error);
}

TEST_CASE("an oversized response head is an error", "[http][response]") {
    ResponseParser p(128);
    std::string in = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n";
    auto c = run(p, in);
    CHECK(c.error);
    CHECK(c.reason.find("too large") != std::string::npos);
}

TEST_CASE("keep-alive responses parse one after another", "[http][response]") {
    ResponseParser p;
    std::string one = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
    auto c = run(p, one + one + one);
    CHECK(c.heads == 3);
    CHECK(c.completes == 3);
    CHECK(c.body == "aaa");
}

// Issue 9: a 304 that repeats the representation's Content-Length (RFC 9110 8.6 allows
// it) has no body; waiting for those bytes stalled the connection until read_timeout.
TEST_CASE("204, 304 and 1xx have no body whatever their headers say", "[http][response]") {
    for (std::string status : {"204 No Content", "304 Not Modified"}) {
        for (std::string framing : {"Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n"}) {
            ResponseParser p;
            std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            auto c = run(p, "HTTP/1.1 " + status + "\r\n" + framing + "\r\n" + next);
            CHECK_FALSE(c.error);
            CHECK(c.heads == 2);  // the next response starts right after the bodiless head
            CHECK(c.completes == 2);
            CHECK(c.body == "ok");
        }
    }
    ResponseParser p;
    auto c = run(p, "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n");
    CHECK(c.completes == 1);
    CHECK(p.head().framing == BodyFraming::None);
    CHECK(p.head().keep_alive);
    CHECK_FALSE(p.in_message());

    ResponseParser q;
    std::string interim =
        "HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
        "2\r\n\r\nok";
    auto d = run(q, interim, 7);
    CHECK(d.heads == 2);
    CHECK(d.body == "ok");
}

TEST_CASE("an upstream chunk size past 64 bits is an error, not a wrap", "[http][response]") {
    ResponseParser p;
    auto c = run(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n");
    CHECK(c.heads == 1);
    CHECK(c.error);
    CHECK(c.body.empty());
}

TEST_CASE("an upstream body shorter than its Content-Length is an error at close",
          "[http][response]") {
    ResponseParser p;
    auto c = run(p, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    CHECK_FALSE(c.error);
    CHECK(c.body == "only ten b");
    CHECK(p.end_of_input().kind == Kind::Error);
    ResponseParser q;
    run(q, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    CHECK(q.end_of_input().kind == Kind::Error);
}
