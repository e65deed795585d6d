// The top-level "type" of a JSON payload, found without building a document: runs once
// per published event, so it validates the JSON in one pass with no allocation except
// the returned string.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::sse {

// The value of the top-level object's "type" member when the payload is valid JSON (RFC
// 8259, UTF-8) whose top level is an object and whose "type" is a string; with duplicate
// keys the last one counts. nullopt otherwise. Nesting deeper than 512 is rejected.
std::optional<std::string> json_top_level_type(std::string_view payload);

}  // namespace sluice::sse
