#include "gateway/core/log_level.h"

namespace sluice::log {

static_assert(static_cast<size_t>(Level::Debug) == 0 && static_cast<size_t>(Level::Error) == 3,
              "kLevelNames is indexed by Level");

std::optional<Level> parse_level(std::string_view name) {
    for (size_t i = 0; i < kLevelNames.size(); ++i) {
        if (kLevelNames[i] == name) return static_cast<Level>(i);
    }
    return std::nullopt;
}

std::string_view level_name(Level level) {
    auto i = static_cast<size_t>(level);
    return i < kLevelNames.size() ? kLevelNames[i] : "?";
}

}  // namespace sluice::log
