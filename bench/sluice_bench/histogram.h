// Log-linear histogram for latencies, in the manner of HdrHistogram: values below 256 are
// counted exactly, above that each power of two is split into 128 equal sub-buckets, so any
// value is reported within 1% (two significant digits) whatever its size. The bench records
// microseconds. Buckets are allocated up to the largest value seen. Pure; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::bench {

class Histogram {
public:
    void record(uint64_t value, uint64_t times = 1);
    void merge(const Histogram& other);

    uint64_t count() const { return count_; }
    uint64_t min() const { return count_ ? min_ : 0; }
    uint64_t max() const { return max_; }
    double mean() const;

    // The value at or below which `percent` (0 < percent <= 100) of the samples fall, reported
    // as the upper end of its bucket and clamped to [min(), max()]. 0 when empty.
    uint64_t percentile(double percent) const;

    // Bucket layout, exposed for tests.
    static std::size_t bucket_of(uint64_t value);
    static uint64_t bucket_low(std::size_t bucket);
    static uint64_t bucket_high(std::size_t bucket);

private:
    std::vector<uint64_t> counts_;
    uint64_t count_ = 0;
    uint64_t min_ = 0;
    uint64_t max_ = 0;
    long double sum_ = 0;
};

}  // namespace sluice::bench
