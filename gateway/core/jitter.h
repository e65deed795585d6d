// Random spreads for things many clients would otherwise do at the same instant
// (reconnects after a drain). Not for secrets: a fast generator per thread, seeded once.
#pragma once

#include <cstdint>

namespace sluice {

// A value in [0, bound); 0 when bound is 0.
uint64_t random_below(uint64_t bound);

}  // namespace sluice
