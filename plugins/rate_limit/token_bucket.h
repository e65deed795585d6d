// The token bucket of one client: `burst` tokens at most, refilled at `per_second`
// tokens a second; each request takes one. Pure arithmetic on a millisecond clock the
// caller passes in (the request's loop clock), so it is tested without waiting.
#pragma once

#include <cstdint>

namespace sluice::plugins::rate_limit {

struct BucketRate {
    double per_second = 1;  // > 0
    double burst = 1;       // >= 1
};

struct TokenBucket {
    double tokens = 0;
    uint64_t last_ms = 0;  // when `tokens` was last brought up to date
};

// A bucket that starts full at `now_ms`.
TokenBucket full_bucket(const BucketRate& rate, uint64_t now_ms);

struct Take {
    bool allowed = false;
    uint64_t retry_after_s = 0;  // when refused: seconds until one token is there, rounded up (>= 1)
};

// Refills for the time since the last call, then takes one token if there is one. A
// clock that went back (the loops' clocks differ by a little) counts as no time passed.
Take take_token(TokenBucket& b, const BucketRate& rate, uint64_t now_ms);

// Whether the bucket would be full at `now_ms` (forgetting it then loses nothing).
bool bucket_full(const TokenBucket& b, const BucketRate& rate, uint64_t now_ms);

}  // namespace sluice::plugins::rate_limit
