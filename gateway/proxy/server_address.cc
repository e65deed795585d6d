#include "gateway/proxy/server_address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

namespace sluice::proxy {

std::optional<ServerAddress> parse_server_address(std::string_view text) {
    ServerAddress out;
    out.text = std::string(text);
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty() || port.empty() || port.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return std::nullopt;
    out.host = std::string(host);
    out.port = static_cast<uint16_t>(value);
    return out;
}

bool resolve(ServerAddress& s) {
    s.resolved = false;
    std::memset(&s.addr, 0, sizeof s.addr);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&s.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&s.addr);
    if (inet_pton(AF_INET, s.host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(s.port);
        s.resolved = true;
        return true;
    }
    if (inet_pton(AF_INET6, s.host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(s.port);
        s.resolved = true;
        return true;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(s.host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return false;
    // The first answer is used; several servers are listed in the config, not in DNS.
    std::memcpy(&s.addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (s.addr.ss_family == AF_INET) v4->sin_port = htons(s.port);
    else if (s.addr.ss_family == AF_INET6) v6->sin6_port = htons(s.port);
    else return false;
    s.resolved = true;
    return true;
}

}  // namespace sluice::proxy
