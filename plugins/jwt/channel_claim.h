// The channels a token may read: its `channels_claim` lists channel names and prefixes
// ending in '*' ("jobs:*" covers every channel starting with "jobs:"; "*" covers all).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::plugins::jwt {

// `claim` is the claim's value: an array of strings, or one string. Anything else (a
// missing claim, a number, an object) allows nothing.
bool channel_allowed(const nlohmann::json& claim, std::string_view channel);

}  // namespace sluice::plugins::jwt
