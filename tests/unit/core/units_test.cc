// parse_duration, parse_size and format_duration: the units of the config file.
#include <catch2/catch.hpp>

#include "gateway/core/units.h"

using namespace sluice;
using namespace std::chrono_literals;

TEST_CASE("parse_duration reads ms, s, m and h", "[core][units]") {
    CHECK(parse_duration("250ms") == Millis(250));
    CHECK(parse_duration("30s") == Millis(30s));
    CHECK(parse_duration("10m") == Millis(10min));
    CHECK(parse_duration("1h") == Millis(1h));
    CHECK(parse_duration("0s") == Millis(0));
    CHECK(parse_duration("0ms") == Millis(0));
}

TEST_CASE("parse_duration rejects garbage, bare numbers, signs and fractions",
          "[core][units]") {
    for (const char* bad : {"", "30", "s", "ms", "-1s", "+1s", " 1s", "1s ", "1 s", "1.5s",
                            "1S", "1M", "1d", "1sec", "1hh", "0x10s", "1m30s", "abc"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad));
    }
}

TEST_CASE("parse_duration rejects values that overflow int64 milliseconds", "[core][units]") {
    CHECK(parse_duration("9223372036854775807ms") == Millis(INT64_MAX));
    CHECK_FALSE(parse_duration("9223372036854775808ms"));
    CHECK_FALSE(parse_duration("18446744073709551616ms"));  // does not fit uint64 either
    CHECK(parse_duration("2562047788015h") == Millis(2562047788015 * 3'600'000));
    CHECK_FALSE(parse_duration("2562047788016h"));  // * 3,600,000 passes INT64_MAX
    CHECK_FALSE(parse_duration("6000000000000h"));  // * 3,600,000 wraps uint64
    CHECK_FALSE(parse_duration("99999999999999999999h"));
}

TEST_CASE("parse_size reads bytes and binary multiples", "[core][units]") {
    CHECK(parse_size("0") == 0u);
    CHECK(parse_size("512") == 512u);
    CHECK(parse_size("512B") == 512u);
    CHECK(parse_size("64KiB") == 64u * 1024);
    CHECK(parse_size("64KB") == 64u * 1024);
    CHECK(parse_size("64k") == 64u * 1024);
    CHECK(parse_size("1MiB") == 1024u * 1024);
    CHECK(parse_size("1MB") == 1024u * 1024);
    CHECK(parse_size("1m") == 1024u * 1024);
    CHECK(parse_size("2GiB") == 2ull * 1024 * 1024 * 1024);
    CHECK(parse_size("2G") == 2ull * 1024 * 1024 * 1024);
}

TEST_CASE("parse_size rejects garbage and overflow", "[core][units]") {
    for (const char* bad : {"", "KiB", "-1", "+1", " 1", "1 KiB", "1.5MiB", "1kib", "1TiB",
                            "1KiBs", "ten"}) {
        INFO(bad);
        CHECK_FALSE(parse_size(bad));
    }
    CHECK(parse_size("18446744073709551615") == UINT64_MAX);
    CHECK_FALSE(parse_size("18446744073709551616"));
    CHECK(parse_size("17179869183GiB"));
    CHECK_FALSE(parse_size("17179869184GiB"));  // 2^34 * 2^30 = 2^64
}

TEST_CASE("format_duration picks the largest whole unit", "[core][units]") {
    CHECK(format_duration(Millis(0)) == "0ms");
    CHECK(format_duration(Millis(1500)) == "1500ms");
    CHECK(format_duration(Millis(30'000)) == "30s");
    CHECK(format_duration(Millis(90'000)) == "90s");
    CHECK(format_duration(Millis(60'000)) == "1m");
    CHECK(format_duration(Millis(5'400'000)) == "90m");
    CHECK(format_duration(Millis(3'600'000)) == "1h");
}

TEST_CASE("format_duration output parses back to the same value", "[core][units]") {
    for (int64_t ms : {1, 999, 1000, 61'000, 120'000, 7'200'000}) {
        CHECK(parse_duration(format_duration(Millis(ms))) == Millis(ms));
    }
}
