#include <catch2/catch.hpp>

#include <string>

#include "gateway/core/utf8.h"

TEST_CASE("valid UTF-8 is accepted", "[core][utf8]") {
    CHECK(sluice::valid_utf8(""));
    CHECK(sluice::valid_utf8("plain ascii {\"type\":\"chunk\"}"));
    CHECK(sluice::valid_utf8("h\xC3\xA9llo"));              // é
    CHECK(sluice::valid_utf8("\xE2\x82\xAC"));              // €
    CHECK(sluice::valid_utf8("\xF0\x9F\x98\x80"));          // 😀
    CHECK(sluice::valid_utf8("\xF4\x8F\xBF\xBF"));          // U+10FFFF
}

TEST_CASE("invalid UTF-8 is rejected", "[core][utf8]") {
    CHECK_FALSE(sluice::valid_utf8("\xFF"));
    CHECK_FALSE(sluice::valid_utf8("\xC3"));                 // truncated
    CHECK_FALSE(sluice::valid_utf8("\xC0\xAF"));             // overlong '/'
    CHECK_FALSE(sluice::valid_utf8("\xE0\x80\xAF"));         // overlong
    CHECK_FALSE(sluice::valid_utf8("\xED\xA0\x80"));         // surrogate U+D800
    CHECK_FALSE(sluice::valid_utf8("\xF4\x90\x80\x80"));     // above U+10FFFF
    CHECK_FALSE(sluice::valid_utf8("ok\x80"));               // stray continuation
    CHECK_FALSE(sluice::valid_utf8("\xE2\x82"));             // truncated 3-byte
}
