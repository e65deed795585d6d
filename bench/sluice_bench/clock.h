// Wall-clock time for the payload timestamps: CLOCK_REALTIME nanoseconds, so a publisher
// and a receiver in different processes on one host agree. (Scheduling uses libuv's
// monotonic clock instead.)
#pragma once

#include <cstdint>
#include <ctime>

namespace sluice::bench {

inline int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace sluice::bench
