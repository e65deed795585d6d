#include "plugins/jwt/channel_claim.h"

#include <string>

namespace sluice::plugins::jwt {
namespace {

bool entry_matches(const std::string& entry, std::string_view channel) {
    if (!entry.empty() && entry.back() == '*') {
        std::string_view prefix(entry.data(), entry.size() - 1);
        return channel.substr(0, prefix.size()) == prefix;
    }
    return entry == channel;
}

}  // namespace

bool channel_allowed(const nlohmann::json& claim, std::string_view channel) {
    if (claim.is_string()) return entry_matches(claim.get_ref<const std::string&>(), channel);
    if (!claim.is_array()) return false;
    for (const auto& entry : claim) {
        if (entry.is_string() && entry_matches(entry.get_ref<const std::string&>(), channel)) {
            return true;
        }
    }
    return false;
}

}  // namespace sluice::plugins::jwt
