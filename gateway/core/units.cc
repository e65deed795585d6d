#include "gateway/core/units.h"

#include <charconv>
#include <limits>

namespace sluice {
namespace {

// Splits "123unit" into the number and the unit suffix.
bool split_number(std::string_view text, uint64_t& number, std::string_view& unit) {
    if (text.empty() || text[0] < '0' || text[0] > '9') return false;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc()) return false;
    unit = text.substr(static_cast<size_t>(ptr - text.data()));
    return true;
}

bool mul_overflows(uint64_t a, uint64_t b) {
    return b != 0 && a > std::numeric_limits<uint64_t>::max() / b;
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
    uint64_t n = 0;
    std::string_view unit;
    if (!split_number(text, n, unit)) return std::nullopt;
    uint64_t mult = 0;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60'000;
    else if (unit == "h") mult = 3'600'000;
    else return std::nullopt;
    // Bound durations to ~292 years worth of ms in int64.
    if (mul_overflows(n, mult) || n * mult > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return std::nullopt;
    return Millis(static_cast<int64_t>(n * mult));
}

std::optional<uint64_t> parse_size(std::string_view text) {
    uint64_t n = 0;
    std::string_view unit;
    if (!split_number(text, n, unit)) return std::nullopt;
    uint64_t mult = 0;
    if (unit.empty() || unit == "B") mult = 1;
    else if (unit == "KiB" || unit == "KB" || unit == "k" || unit == "K") mult = 1024;
    else if (unit == "MiB" || unit == "MB" || unit == "m" || unit == "M") mult = 1024 * 1024;
    else if (unit == "GiB" || unit == "GB" || unit == "g" || unit == "G") mult = 1024ull * 1024 * 1024;
    else return std::nullopt;
    if (mul_overflows(n, mult)) return std::nullopt;
    return n * mult;
}

std::string format_duration(Millis d) {
    auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace sluice
