#include "gateway/config/address.h"

#include <arpa/inet.h>

#include <charconv>

namespace sluice::config {
namespace {

struct HostPort {
    std::string host;
    bool bracketed = false;  // written as [v6]
    uint32_t port = 0;
};

// Splits "host:port" or "[v6]:port"; the port must be a decimal number <= 65535.
std::string split_host_port(std::string_view text, HostPort& out) {
    size_t colon;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos) return "missing ']' after IPv6 address";
        out.host = std::string(text.substr(1, close - 1));
        out.bracketed = true;
        if (close + 1 >= text.size() || text[close + 1] != ':')
            return "expected [address]:port, like [::1]:8080";
        colon = close + 1;
    } else {
        colon = text.rfind(':');
        if (colon == std::string_view::npos) return "expected host:port, like 127.0.0.1:8080";
        out.host = std::string(text.substr(0, colon));
        if (out.host.find(':') != std::string::npos)
            return "an IPv6 address needs brackets, like [::1]:8080";
    }
    if (out.host.empty()) return "missing host before ':'";
    std::string_view port = text.substr(colon + 1);
    uint32_t n = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n > 65535)
        return "port must be a number from 0 to 65535, got '" + std::string(port) + "'";
    out.port = n;
    return "";
}

bool is_ipv4(const std::string& host) {
    in_addr a{};
    return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& host) {
    in6_addr a{};
    return inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

bool is_hostname(std::string_view host) {
    if (host.size() > 253) return false;
    for (char c : host) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_';
        if (!ok) return false;
    }
    return host.front() != '.' && host.front() != '-';
}

}  // namespace

std::string parse_listen_address(std::string_view text, ListenAddress& out) {
    HostPort hp;
    if (std::string err = split_host_port(text, hp); !err.empty()) return err;
    if (hp.bracketed) {
        if (!is_ipv6(hp.host)) return "'" + hp.host + "' is not an IPv6 address";
    } else if (hp.host == "localhost") {
        hp.host = "127.0.0.1";
    } else if (!is_ipv4(hp.host)) {
        return "host must be a numeric IPv4 address or a bracketed IPv6 address, got '" +
               hp.host + "'";
    }
    out.host = hp.host;
    out.port = static_cast<uint16_t>(hp.port);
    return "";
}

std::string check_server_address(std::string_view text) {
    HostPort hp;
    if (std::string err = split_host_port(text, hp); !err.empty()) return err;
    if (hp.port == 0) return "port must be from 1 to 65535, got 0";
    if (hp.bracketed ? !is_ipv6(hp.host) : !is_hostname(hp.host))
        return "'" + hp.host + "' is not a valid host";
    return "";
}

}  // namespace sluice::config
