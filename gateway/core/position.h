// The range of event positions (SSE ids). Positions are 1..kMaxPosition per channel.
// The bound is 2^53-1: the largest integer a JavaScript number (a browser counting ids,
// JSON.parse of a poll answer) and a Lua number (the Redis function's INCR result) hold
// exactly. Keeping every position this far below 2^64 also makes position + 1 safe in
// every computation (resume, poll, hub, replay). Anything above it, from a client or from
// Redis, is refused with a clear status or log line (issue 8).
#pragma once

#include <cstdint>

namespace sluice {

inline constexpr uint64_t kMaxPosition = (uint64_t{1} << 53) - 1;  // 9007199254740991

inline constexpr bool valid_position(uint64_t p) { return p >= 1 && p <= kMaxPosition; }

}  // namespace sluice
