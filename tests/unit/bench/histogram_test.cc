#include "bench/sluice_bench/histogram.h"

#include <catch2/catch.hpp>

using sluice::bench::Histogram;

TEST_CASE("histogram: an empty histogram reports zeros", "[bench][histogram]") {
    Histogram h;
    CHECK(h.count() == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
    CHECK(h.percentile(50) == 0);
    CHECK(h.mean() == 0.0);
}

TEST_CASE("histogram: values below 256 are exact", "[bench][histogram]") {
    Histogram h;
    for (uint64_t v = 1; v <= 100; ++v) h.record(v);
    CHECK(h.count() == 100);
    CHECK(h.min() == 1);
    CHECK(h.max() == 100);
    CHECK(h.percentile(50) == 50);
    CHECK(h.percentile(90) == 90);
    CHECK(h.percentile(99) == 99);
    CHECK(h.percentile(99.9) == 100);
    CHECK(h.percentile(100) == 100);
    CHECK(h.mean() == Approx(50.5));
}

TEST_CASE("histogram: every bucket holds its bounds and is under 1% wide",
          "[bench][histogram]") {
    for (uint64_t v : {255ull, 256ull, 257ull, 511ull, 512ull, 1000ull, 123456ull,
                       987654321ull, (1ull << 40) + 12345, ~0ull}) {
        std::size_t b = Histogram::bucket_of(v);
        CHECK(Histogram::bucket_low(b) <= v);
        CHECK(v <= Histogram::bucket_high(b));
        if (v >= 256) {
            auto low = static_cast<double>(Histogram::bucket_low(b));
            auto high = static_cast<double>(Histogram::bucket_high(b));
            CHECK((high - low) / low < 0.01);
        }
    }
}

TEST_CASE("histogram: buckets are contiguous", "[bench][histogram]") {
    for (std::size_t b = 0; b < 2000; ++b)
        CHECK(Histogram::bucket_high(b) + 1 == Histogram::bucket_low(b + 1));
}

TEST_CASE("histogram: large values keep two significant digits", "[bench][histogram]") {
    Histogram h;
    for (uint64_t i = 1; i <= 1000; ++i) h.record(i * 1000);  // 1ms .. 1s in us
    auto near = [](uint64_t got, uint64_t want) {
        return got >= want && static_cast<double>(got) <= static_cast<double>(want) * 1.01;
    };
    CHECK(near(h.percentile(50), 500'000));
    CHECK(near(h.percentile(90), 900'000));
    CHECK(near(h.percentile(99), 990'000));
    CHECK(near(h.percentile(99.9), 999'000));
    CHECK(h.max() == 1'000'000);
    CHECK(h.percentile(100) == 1'000'000);
}

TEST_CASE("histogram: a percentile never exceeds the max or falls below the min",
          "[bench][histogram]") {
    Histogram h;
    h.record(1'000'001);
    CHECK(h.percentile(50) == 1'000'001);
    CHECK(h.percentile(0.1) == 1'000'001);
}

TEST_CASE("histogram: record with a count and merge add up", "[bench][histogram]") {
    Histogram a, b;
    a.record(10, 99);
    b.record(5000);
    a.merge(b);
    CHECK(a.count() == 100);
    CHECK(a.min() == 10);
    CHECK(a.max() == 5000);
    CHECK(a.percentile(99) == 10);
    CHECK(a.percentile(99.9) == 5000);
}
