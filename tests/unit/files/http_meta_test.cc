// Content types, HTTP dates, validators, conditional requests and byte ranges.
#include "gateway/files/http_meta.h"

#include <catch2/catch.hpp>

using namespace sluice::files;
using RK = RangeDecision::Kind;

TEST_CASE("content type by extension", "[files]") {
    CHECK(content_type_for("index.html") == "text/html; charset=utf-8");
    CHECK(content_type_for("/a/b/APP.JS") == "text/javascript; charset=utf-8");
    CHECK(content_type_for("x.json") == "application/json");
    CHECK(content_type_for("x.png") == "image/png");
    CHECK(content_type_for("x.svg") == "image/svg+xml");
    CHECK(content_type_for("x.woff2") == "font/woff2");
    CHECK(content_type_for("noext") == "application/octet-stream");
    CHECK(content_type_for("dir.d/noext") == "application/octet-stream");
    CHECK(content_type_for("x.unknown") == "application/octet-stream");
}

TEST_CASE("HTTP dates round-trip", "[files]") {
    CHECK(format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date(format_http_date(1700000000)) == 1700000000);
    CHECK_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));
    CHECK_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
    CHECK_FALSE(parse_http_date(""));
}

TEST_CASE("etags and If-None-Match", "[files]") {
    std::string e = make_etag(100, 5, 42);
    CHECK(e == "\"64-5-2a\"");
    CHECK(make_etag(100, 6, 42) != e);
    CHECK(none_match_hits(e, e));
    CHECK(none_match_hits("\"x\", " + e, e));
    CHECK(none_match_hits("W/" + e, e));  // weak comparison
    CHECK(none_match_hits("*", e));
    CHECK_FALSE(none_match_hits("\"x\"", e));
}

TEST_CASE("not_modified: If-None-Match first, then If-Modified-Since", "[files]") {
    std::string e = make_etag(1000, 0, 1);
    std::string at = format_http_date(1000), before = format_http_date(999);
    std::string other = "\"nope\"";
    CHECK(not_modified(&e, nullptr, e, 1000));
    CHECK_FALSE(not_modified(&other, &at, e, 1000));
    CHECK(not_modified(nullptr, &at, e, 1000));
    CHECK_FALSE(not_modified(nullptr, &before, e, 1000));
    CHECK_FALSE(not_modified(nullptr, nullptr, e, 1000));
    std::string junk = "yesterday";
    CHECK_FALSE(not_modified(nullptr, &junk, e, 1000));
}

TEST_CASE("byte ranges", "[files]") {
    auto r = decide_range("bytes=0-9", 100);
    REQUIRE(r.kind == RK::Partial);
    CHECK(r.range.first == 0);
    CHECK(r.range.last == 9);
    CHECK(r.range.length() == 10);
    r = decide_range("bytes=90-", 100);
    CHECK((r.kind == RK::Partial && r.range.first == 90 && r.range.last == 99));
    r = decide_range("bytes=-10", 100);
    CHECK((r.kind == RK::Partial && r.range.first == 90 && r.range.last == 99));
    r = decide_range("bytes=-1000", 100);
    CHECK((r.kind == RK::Partial && r.range.first == 0 && r.range.last == 99));
    r = decide_range("bytes=50-1000", 100);
    CHECK((r.kind == RK::Partial && r.range.last == 99));
    CHECK(decide_range("bytes=100-", 100).kind == RK::Unsatisfiable);
    CHECK(decide_range("bytes=-0", 100).kind == RK::Unsatisfiable);
    CHECK(decide_range("bytes=0-0", 0).kind == RK::Unsatisfiable);
    for (const char* ignored :
         {"bytes=0-1,5-6", "items=0-1", "bytes=5-2", "bytes=a-b", "bytes=", "bytes=1"}) {
        INFO(ignored);
        CHECK(decide_range(ignored, 100).kind == RK::Full);
    }
}

TEST_CASE("If-Range", "[files]") {
    std::string e = make_etag(1000, 0, 1);
    CHECK(if_range_matches(e, e, 1000));
    CHECK_FALSE(if_range_matches("\"other\"", e, 1000));
    CHECK_FALSE(if_range_matches("W/" + e, e, 1000));  // weak tags never match
    CHECK(if_range_matches(format_http_date(1000), e, 1000));
    CHECK_FALSE(if_range_matches(format_http_date(999), e, 1000));
}

// Issue 9: positions at and past 2^64 - 1 and the unit's case.
TEST_CASE("byte ranges with huge positions never wrap", "[files]") {
    constexpr uint64_t kMax = UINT64_MAX;
    auto r = decide_range("bytes=0-18446744073709551615", 100);
    CHECK((r.kind == RK::Partial && r.range.first == 0 && r.range.last == 99));
    r = decide_range("bytes=0-99999999999999999999999999", 100);  // past 2^64: saturates
    CHECK((r.kind == RK::Partial && r.range.first == 0 && r.range.last == 99));
    r = decide_range("bytes=-99999999999999999999999999", 100);
    CHECK((r.kind == RK::Partial && r.range.first == 0 && r.range.last == 99));
    r = decide_range("bytes=10-18446744073709551616", 100);  // 2^64
    CHECK((r.kind == RK::Partial && r.range.first == 10 && r.range.last == 99));
    CHECK(decide_range("bytes=18446744073709551615-", 100).kind == RK::Unsatisfiable);
    CHECK(decide_range("bytes=18446744073709551616-", 100).kind == RK::Unsatisfiable);
    CHECK(decide_range("bytes=99999999999999999999999-", kMax).kind == RK::Unsatisfiable);
    r = decide_range("bytes=18446744073709551614-", kMax);  // the last byte of the largest file
    CHECK((r.kind == RK::Partial && r.range.first == kMax - 1 && r.range.last == kMax - 1));
    CHECK(r.range.length() == 1);
}

TEST_CASE("the range unit is case-insensitive; malformed ranges are ignored", "[files]") {
    for (const char* unit : {"Bytes=0-1", "BYTES=0-1", "bYtEs=0-1"}) {
        INFO(unit);
        auto r = decide_range(unit, 100);
        CHECK((r.kind == RK::Partial && r.range.first == 0 && r.range.last == 1));
    }
    for (const char* ignored : {"bytes=-5-10", "bytes=5--1", "bytes=+5-10", "bytes=-", "bytes= -",
                                "bytes=0-1,2-3,-4", "bytes=-1-", "bytes=0x10-20", "bytes=1-2-3",
                                "bytes=18446744073709551615-1"}) {
        INFO(ignored);
        CHECK(decide_range(ignored, 100).kind == RK::Full);
    }
}
