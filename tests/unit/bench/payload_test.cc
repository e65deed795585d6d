#include "bench/sluice_bench/payload.h"

#include <catch2/catch.hpp>

using namespace sluice::bench;

TEST_CASE("payload: fields survive a round trip", "[bench][payload]") {
    std::string p = make_payload("abcd1234", 3, 17, 1712345678901234567, 0);
    CHECK(p == R"({"type":"bench","run":"abcd1234","ch":3,"seq":17,"ts":1712345678901234567})");
    auto f = parse_payload(p);
    REQUIRE(f);
    CHECK(f->run == "abcd1234");
    CHECK(f->ch == 3);
    CHECK(f->seq == 17);
    CHECK(f->ts_ns == 1712345678901234567);
}

TEST_CASE("payload: padding gives exactly the requested size", "[bench][payload]") {
    std::size_t natural = make_payload("r", 1, 1, 5, 0).size();
    for (std::size_t size : {natural + 1, natural + 8, natural + 9, natural + 10, size_t{1024}}) {
        std::string p = make_payload("r", 1, 1, 5, size);
        CHECK(p.size() == size);
        CHECK(p.back() == '}');
        auto f = parse_payload(p);
        REQUIRE(f);
        CHECK(f->seq == 1);
    }
    CHECK(make_payload("r", 1, 1, 5, 10).size() == natural);  // too small: natural size
}

TEST_CASE("payload: found inside an envelope", "[bench][payload]") {
    std::string inner = make_payload("x", 0, 9, 42, 0);
    auto f = parse_payload(R"({"wrapped":)" + inner + "}");
    REQUIRE(f);
    CHECK(f->seq == 9);
}

TEST_CASE("payload: other text is not a bench payload", "[bench][payload]") {
    CHECK_FALSE(parse_payload(R"({"type":"heartbeat"})"));
    CHECK_FALSE(parse_payload(R"({"type":"bench","run":"x","ch":1,"seq":-1,"ts":5})"));
    CHECK_FALSE(parse_payload(R"({"type":"bench","run":"x","ch":1,"ts":5})"));
    CHECK_FALSE(parse_payload(""));
}

TEST_CASE("payload: run ids are 8 hex digits", "[bench][payload]") {
    std::string id = new_run_id();
    CHECK(id.size() == 8);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
}
