// The range of event positions (SSE ids). Positions are 1..kMaxPosition per channel.
// The bound is Redis's: INCR stops at 2^63-1, so no honest source ever gives more, and
// keeping every position below 2^63 makes position + 1 safe in every computation (resume,
// poll, hub, replay). Anything above it, from a client or from Redis, is refused with a
// clear status or log line (issue 8).
#pragma once

#include <cstdint>

namespace sluice {

inline constexpr uint64_t kMaxPosition = (uint64_t{1} << 63) - 1;  // 9223372036854775807

inline constexpr bool valid_position(uint64_t p) { return p >= 1 && p <= kMaxPosition; }

}  // namespace sluice
