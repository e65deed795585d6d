#include "gateway/http/h2_preface.h"

#include <string>

#include <catch2/catch.hpp>

using sluice::http::kH2Preface;
using sluice::http::match_h2_preface;
using sluice::http::PrefaceMatch;

TEST_CASE("the whole HTTP/2 preface (and what follows it) is h2c", "[http][h2]") {
    CHECK(match_h2_preface(kH2Preface) == PrefaceMatch::Yes);
    std::string more(kH2Preface);
    more += "\x00\x00\x00\x04";  // the client's SETTINGS frame follows at once
    CHECK(match_h2_preface(more) == PrefaceMatch::Yes);
}

TEST_CASE("a prefix of the preface waits for more bytes", "[http][h2]") {
    CHECK(match_h2_preface("") == PrefaceMatch::NeedMore);
    CHECK(match_h2_preface("P") == PrefaceMatch::NeedMore);
    CHECK(match_h2_preface("PRI * HTTP/2.0\r\n") == PrefaceMatch::NeedMore);
}

TEST_CASE("an HTTP/1.1 request is not the preface", "[http][h2]") {
    CHECK(match_h2_preface("GET / HTTP/1.1\r\n") == PrefaceMatch::No);
    CHECK(match_h2_preface("PRI") == PrefaceMatch::NeedMore);
    CHECK(match_h2_preface("PRI / HTTP/1.1\r\n\r\n") == PrefaceMatch::No);
    CHECK(match_h2_preface("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n") == PrefaceMatch::No);
}
