#include "gateway/core/jitter.h"

#include <random>

namespace sluice {

uint64_t random_below(uint64_t bound) {
    if (bound == 0) return 0;
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::uniform_int_distribution<uint64_t>(0, bound - 1)(rng);
}

}  // namespace sluice
