#include "plugins/rate_limit/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace sluice::plugins::rate_limit {
namespace {

double refilled(const TokenBucket& b, const BucketRate& rate, uint64_t now_ms) {
    uint64_t elapsed = now_ms > b.last_ms ? now_ms - b.last_ms : 0;
    return std::min(rate.burst, b.tokens + static_cast<double>(elapsed) * rate.per_second / 1000.0);
}

}  // namespace

TokenBucket full_bucket(const BucketRate& rate, uint64_t now_ms) {
    return TokenBucket{rate.burst, now_ms};
}

Take take_token(TokenBucket& b, const BucketRate& rate, uint64_t now_ms) {
    b.tokens = refilled(b, rate, now_ms);
    b.last_ms = std::max(b.last_ms, now_ms);
    if (b.tokens >= 1 - 1e-9) {  // tolerate the rounding of many small refills
        b.tokens -= 1;
        return Take{true, 0};
    }
    double wait_s = (1 - b.tokens) / rate.per_second;
    auto seconds = static_cast<uint64_t>(std::ceil(wait_s));
    return Take{false, std::max<uint64_t>(1, seconds)};
}

bool bucket_full(const TokenBucket& b, const BucketRate& rate, uint64_t now_ms) {
    return refilled(b, rate, now_ms) >= rate.burst - 1e-9;
}

}  // namespace sluice::plugins::rate_limit
