// Log level names: the one parser and the one list, for the config's log_level and
// for the log lines themselves.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "gateway/core/log.h"

namespace sluice::log {

// Every level's name, from the most to the least verbose.
inline constexpr std::array<std::string_view, 4> kLevelNames{"debug", "info", "warn", "error"};

// "debug" | "info" | "warn" | "error" (exactly; no other spelling), else nullopt.
std::optional<Level> parse_level(std::string_view name);
std::string_view level_name(Level level);

}  // namespace sluice::log
