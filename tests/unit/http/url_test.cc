// URL helpers: percent-decoding, query lookup and strict unsigned parsing.
#include "gateway/http/url.h"

#include <catch2/catch.hpp>

using sluice::http::parse_uint;
using sluice::http::percent_decode;
using sluice::http::query_param;

TEST_CASE("percent_decode decodes %XX and nothing else", "[http][url]") {
    CHECK(percent_decode("") == std::string());
    CHECK(percent_decode("plain") == std::string("plain"));
    CHECK(percent_decode("a%20b") == std::string("a b"));
    CHECK(percent_decode("%2f%2F") == std::string("//"));
    CHECK(percent_decode("a+b") == std::string("a+b"));
    CHECK(percent_decode("%00") == std::string("\0", 1));
    CHECK(percent_decode("%e2%9c%93") == std::string("\xe2\x9c\x93"));
}

TEST_CASE("percent_decode rejects malformed escapes", "[http][url]") {
    CHECK_FALSE(percent_decode("%").has_value());
    CHECK_FALSE(percent_decode("abc%").has_value());
    CHECK_FALSE(percent_decode("abc%4").has_value());
    CHECK_FALSE(percent_decode("%zz").has_value());
    CHECK_FALSE(percent_decode("%4g").has_value());
    CHECK_FALSE(percent_decode("%-1").has_value());
}

TEST_CASE("query_param finds the first decoded value", "[http][url]") {
    CHECK(query_param("a=1&b=2", "b") == std::string("2"));
    CHECK(query_param("a=1&a=2", "a") == std::string("1"));
    CHECK(query_param("channel=room%3Alobby", "channel") == std::string("room:lobby"));
    CHECK(query_param("last%5Fid=9", "last_id") == std::string("9"));
    CHECK(query_param("x=a=b", "x") == std::string("a=b"));
    CHECK(query_param("q=a+b", "q") == std::string("a+b"));
}

TEST_CASE("query_param tells absent from empty", "[http][url]") {
    CHECK_FALSE(query_param("", "a").has_value());
    CHECK_FALSE(query_param("ab=1", "a").has_value());
    CHECK_FALSE(query_param("b=1&&c", "a").has_value());
    CHECK(query_param("a", "a") == std::string());
    CHECK(query_param("b=1&a=&c=3", "a") == std::string());
    CHECK(query_param("b=1&a", "a") == std::string());
}

TEST_CASE("query_param with malformed escapes", "[http][url]") {
    CHECK_FALSE(query_param("a=%zz", "a").has_value());
    CHECK(query_param("%zz=1&a=2", "a") == std::string("2"));
}

TEST_CASE("parse_uint is strict", "[http][url]") {
    CHECK(parse_uint("0") == 0ULL);
    CHECK(parse_uint("42") == 42ULL);
    CHECK(parse_uint("007") == 7ULL);
    CHECK(parse_uint("18446744073709551615") == 18446744073709551615ULL);
    CHECK_FALSE(parse_uint("").has_value());
    CHECK_FALSE(parse_uint("-1").has_value());
    CHECK_FALSE(parse_uint("+1").has_value());
    CHECK_FALSE(parse_uint(" 1").has_value());
    CHECK_FALSE(parse_uint("1 ").has_value());
    CHECK_FALSE(parse_uint("1a").has_value());
    CHECK_FALSE(parse_uint("0x10").has_value());
}

TEST_CASE("parse_uint rejects overflow", "[http][url]") {
    CHECK_FALSE(parse_uint("18446744073709551616").has_value());
    CHECK_FALSE(parse_uint("18446744073709551620").has_value());
    CHECK_FALSE(parse_uint("99999999999999999999").has_value());
    CHECK_FALSE(parse_uint("100000000000000000000").has_value());
}
