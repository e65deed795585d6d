// URL helpers: percent-decoding and query-string lookup. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::http {

// Decodes %XX escapes (and nothing else: '+' stays '+'). nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view in);

// Value of the first `name` parameter in a query string "a=1&b=2" (percent-decoded).
// nullopt if absent; "" if present without '=' or with an empty value.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// Strict unsigned decimal parse (no sign, no spaces, fits uint64). nullopt otherwise.
std::optional<unsigned long long> parse_uint(std::string_view s);

}  // namespace sluice::http
