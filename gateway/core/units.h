// Parsing of the config file's durations ("250ms", "30s", "10m", "1h") and sizes
// ("512", "64KiB", "1MiB"). Pure functions; errors are returned, not thrown.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

using Millis = std::chrono::milliseconds;

// Accepts an integer followed by ms, s, m or h (no spaces, no fractions, no sign).
// A bare integer is rejected: a duration always names its unit.
std::optional<Millis> parse_duration(std::string_view text);

// Accepts an integer optionally followed by B, KiB, MiB or GiB (also KB/MB/GB as the
// same binary multiples, the way nginx reads "k" and "m"). Overflow is rejected.
std::optional<uint64_t> parse_size(std::string_view text);

// Human form used in messages and docs: 1500 -> "1500ms", 30000 -> "30s".
std::string format_duration(Millis d);

}  // namespace sluice
