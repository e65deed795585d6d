// SseBoundary: where a heartbeat may go in a passed-through event stream.
#include "gateway/proxy/sse_boundary.h"

#include <catch2/catch.hpp>

using sluice::proxy::SseBoundary;

TEST_CASE("the start of a stream is a boundary", "[proxy][sse]") {
    SseBoundary b;
    CHECK(b.at_boundary());
}

TEST_CASE("a boundary follows a blank line, for every line ending", "[proxy][sse]") {
    for (std::string eol : {"\n", "\r\n", "\r"}) {
        INFO("eol " << (eol == "\n" ? "LF" : eol == "\r\n" ? "CRLF" : "CR"));
        SseBoundary b;
        b.feed("data: x");
        CHECK_FALSE(b.at_boundary());
        b.feed(eol);
        CHECK_FALSE(b.at_boundary());  // one line ended: the event continues
        b.feed("id: 1" + eol);
        CHECK_FALSE(b.at_boundary());
        b.feed(eol);
        if (eol == "\r") {
            CHECK_FALSE(b.at_boundary());  // an LF may still follow and belong to it
            b.feed("data: next");
            CHECK_FALSE(b.at_boundary());
        } else {
            CHECK(b.at_boundary());
        }
    }
}

TEST_CASE("a CRLF split across pieces is one line end", "[proxy][sse]") {
    SseBoundary b;
    b.feed("data: a\r");
    b.feed("\n");
    CHECK_FALSE(b.at_boundary());
    b.feed("\r");
    CHECK_FALSE(b.at_boundary());
    b.feed("\n");
    CHECK(b.at_boundary());
}

TEST_CASE("comments are lines too", "[proxy][sse]") {
    SseBoundary b;
    b.feed(": keep\n\ndata: 1\n\n: x");
    CHECK_FALSE(b.at_boundary());
    b.feed("\n\n\n");
    CHECK(b.at_boundary());
}
