#include "bench/sluice_bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sluice::bench {
namespace {

constexpr unsigned kSubBits = 7;                        // 128 sub-buckets per power of two
constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;  // 128
constexpr uint64_t kExactLimit = 2 * kSubCount;         // values below 256 have their own bucket

}  // namespace

std::size_t Histogram::bucket_of(uint64_t value) {
    if (value < kExactLimit) return static_cast<std::size_t>(value);
    // Shift so that the value keeps its top 8 bits: value >> shift lies in [128, 256).
    unsigned shift = static_cast<unsigned>(std::bit_width(value)) - (kSubBits + 1);
    uint64_t sub = (value >> shift) - kSubCount;
    return static_cast<std::size_t>(kExactLimit + (shift - 1) * kSubCount + sub);
}

uint64_t Histogram::bucket_low(std::size_t bucket) {
    if (bucket < kExactLimit) return bucket;
    uint64_t rest = bucket - kExactLimit;
    unsigned shift = static_cast<unsigned>(rest / kSubCount) + 1;
    uint64_t sub = rest % kSubCount + kSubCount;
    return sub << shift;
}

uint64_t Histogram::bucket_high(std::size_t bucket) {
    if (bucket < kExactLimit) return bucket;
    uint64_t rest = bucket - kExactLimit;
    unsigned shift = static_cast<unsigned>(rest / kSubCount) + 1;
    uint64_t sub = rest % kSubCount + kSubCount;
    // (sub + 1) << shift overflows only for the very last bucket, whose top is 2^64 - 1.
    return ((sub + 1) << shift) - 1;
}

void Histogram::record(uint64_t value, uint64_t times) {
    if (times == 0) return;
    std::size_t b = bucket_of(value);
    if (b >= counts_.size()) counts_.resize(b + 1, 0);
    counts_[b] += times;
    if (count_ == 0 || value < min_) min_ = value;
    if (value > max_) max_ = value;
    count_ += times;
    sum_ += static_cast<long double>(value) * times;
}

void Histogram::merge(const Histogram& other) {
    if (other.count_ == 0) return;
    if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
    for (std::size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
    if (count_ == 0 || other.min_ < min_) min_ = other.min_;
    max_ = std::max(max_, other.max_);
    count_ += other.count_;
    sum_ += other.sum_;
}

double Histogram::mean() const {
    return count_ ? static_cast<double>(sum_ / count_) : 0.0;
}

uint64_t Histogram::percentile(double percent) const {
    if (count_ == 0) return 0;
    percent = std::clamp(percent, 0.0, 100.0);
    // The small epsilon keeps 99.9% of 1000 samples at rank 999 despite rounding.
    double exact = percent / 100.0 * static_cast<double>(count_);
    uint64_t rank = static_cast<uint64_t>(std::ceil(exact - 1e-9));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (std::size_t b = 0; b < counts_.size(); ++b) {
        seen += counts_[b];
        if (seen >= rank) return std::clamp(bucket_high(b), min_, max_);
    }
    return max_;
}

}  // namespace sluice::bench
