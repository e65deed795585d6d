// Load-time checks of the text templates in routes: path templates
// ("/api/analysis/{id}/stream"), literal prefixes ("/api/") and channel templates
// ("analysis:{id}"). The router compiles these later; checking here lets a mistake be
// reported with its file position. Pure string functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

// Each returns an error message (without a location), or "" when the text is valid.

// Segments are literal path characters or a whole-segment "{name}"; must start with '/'.
// On success `captures` receives the capture names in order.
std::string check_path_template(std::string_view text, std::vector<std::string>& captures);

// A literal path prefix: starts with '/', no {captures}, no query or fragment.
std::string check_prefix(std::string_view text);

// Literal channel characters [A-Za-z0-9_.:-] and "{name}" placeholders. On success
// `placeholders` receives the placeholder names in order.
std::string check_channel_template(std::string_view text, std::vector<std::string>& placeholders);

// A capture or placeholder name: [A-Za-z_][A-Za-z0-9_]*.
bool valid_capture_name(std::string_view name);

}  // namespace sluice::config
