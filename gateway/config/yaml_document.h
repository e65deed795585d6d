// Turns config text into one YAML node, or into errors: syntax errors at yaml-cpp's
// position, an empty file, more than one document. Guards against yaml-cpp 0.7 inputs
// that make its document loop spin forever (a stray ',' at the start of a line).
#pragma once

#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "gateway/config/yaml_reader.h"

namespace sluice::config {

// The single document in `text`, or nullopt with every problem reported. Never throws.
std::optional<YAML::Node> parse_document(const std::string& text, Diagnostics& diag);

}  // namespace sluice::config
