// `${NAME}` and `${NAME:-default}` in config values: secrets and per-host settings come
// from the environment instead of the file. Expansion is one pass over the YAML tree
// after parsing and before the loaders read it, so every key accepts it and errors keep
// their file:line:col. A value read from the environment is never echoed in a message.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "gateway/config/yaml_reader.h"

namespace sluice::config {

// Returns the variable's value, or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
std::optional<std::string> process_env(const std::string& name);

struct EnvExpansion {
    std::string text;      // the expanded value (when error is empty)
    std::string error;     // what is wrong, naming the variable, never its value
    size_t error_at = 0;   // byte offset of the offending "${" in the input
};

// Expands one scalar. Rules (those of POSIX sh and Docker Compose):
//   ${NAME}          the variable; an error when it is unset
//   ${NAME:-default} the variable, or `default` when it is unset or empty
//   $${              a literal "${" (to write one in a value)
// NAME is [A-Za-z_][A-Za-z0-9_]*. A '$' not followed by '{' is kept as it is.
EnvExpansion expand_env(std::string_view text, const EnvLookup& lookup);

// Expands every scalar value (not map keys) of the tree in place; reports each problem at
// the scalar's position. Returns false if any was reported.
bool expand_env_in_tree(YAML::Node& root, const EnvLookup& lookup, Diagnostics& diag);

}  // namespace sluice::config
