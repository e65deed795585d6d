// An upstream server as the proxy uses it: the configured "host:port", split, and the
// socket address to connect to. Numeric addresses need no lookup; host names are looked up
// with the system resolver (blocking, so callers do it rarely: once per pool, and again
// only after a failure).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::proxy {

struct ServerAddress {
    std::string text;  // as configured, "127.0.0.1:3000", "[::1]:3000", "app.internal:80"
    std::string host;  // without brackets
    uint16_t port = 0;
    sockaddr_storage addr{};
    bool resolved = false;
};

// Splits "host:port" (IPv6 in brackets). nullopt when it cannot be read (the config
// loader has already refused such text).
std::optional<ServerAddress> parse_server_address(std::string_view text);

// Fills addr: at once for numeric hosts, else through getaddrinfo (blocking). Returns
// false (and leaves resolved false) when the name cannot be resolved.
bool resolve(ServerAddress& server);

}  // namespace sluice::proxy
