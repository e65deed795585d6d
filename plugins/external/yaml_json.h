// A plugin item's YAML options as the JSON object a third-party plugin's create() reads.
// Plain scalars keep their YAML meaning (true/false, null, integers, decimals); quoted
// scalars are strings.
#pragma once

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace sluice::plugins::external {

nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace sluice::plugins::external
