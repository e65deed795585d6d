// Load-time checks of the text templates in a config: path templates
// ("/api/analysis/{id}/stream"), literal prefixes ("/api/") and channel templates
// ("analysis:{id}"). The grammar is the router's (router/path_template.h), the one the
// route table compiles with; checking here gives every mistake its file position.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

// Each returns an error message (without a location), or "" when the text is valid.

// On success `captures` receives the capture names in order.
std::string check_path_template(std::string_view text, std::vector<std::string>& captures);

std::string check_prefix(std::string_view text);

// On success `placeholders` receives the placeholder names in order.
std::string check_channel_template(std::string_view text, std::vector<std::string>& placeholders);

}  // namespace sluice::config
