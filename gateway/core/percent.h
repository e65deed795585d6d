// Percent-decoding (%XX) shared by the URL, router and static-file code. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// 0..15 for a hex digit, -1 otherwise.
int hex_digit(char c);

// Decodes %XX escapes and nothing else ('+' stays '+', as in paths). nullopt on a
// malformed escape.
std::optional<std::string> percent_decode(std::string_view in);

}  // namespace sluice
