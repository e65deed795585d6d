// "host:port" parsing for the config: listen addresses (numeric IPv4 or bracketed IPv6,
// port 0..65535, 0 = any free port) and upstream servers (also host names, port
// 1..65535). Pure string checks; nothing is resolved here.
#pragma once

#include <string>
#include <string_view>

#include "gateway/config/config.h"

namespace sluice::config {

// Returns an error message, or "" and fills `out`. "localhost" is read as 127.0.0.1.
std::string parse_listen_address(std::string_view text, ListenAddress& out);

// Returns an error message, or "" when `text` is a usable upstream "host:port".
std::string check_server_address(std::string_view text);

}  // namespace sluice::config
