#include "plugins/rate_limit/client_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "gateway/core/ascii.h"

namespace sluice::plugins::rate_limit {
namespace {

constexpr unsigned char kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const IpBytes& ip) { return std::memcmp(ip.data(), kV4Mapped, 12) == 0; }

bool trusted_ip(const IpBytes& ip, const std::vector<Cidr>& trusted) {
    for (const Cidr& c : trusted)
        if (c.contains(ip)) return true;
    return false;
}

// One X-Forwarded-For entry: "1.2.3.4", "1.2.3.4:5678", "2001:db8::1" or "[2001:db8::1]:80".
std::optional<IpBytes> parse_hop(std::string_view s) {
    s = trim_ows(s);
    if (!s.empty() && s.front() == '[') {
        size_t close = s.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        return parse_ip(s.substr(1, close - 1));
    }
    if (std::count(s.begin(), s.end(), ':') == 1) s = s.substr(0, s.find(':'));
    return parse_ip(s);
}

std::string as_key(const IpBytes& ip) { return std::string(ip.begin(), ip.end()); }

}  // namespace

std::optional<IpBytes> parse_ip(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpBytes out{};
    in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        std::memcpy(out.data(), kV4Mapped, 12);
        std::memcpy(out.data() + 12, &v4, 4);
        return out;
    }
    in6_addr v6;
    if (inet_pton(AF_INET6, buf, &v6) == 1) {
        std::memcpy(out.data(), &v6, 16);
        return out;
    }
    return std::nullopt;
}

bool Cidr::contains(const IpBytes& ip) const {
    unsigned full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(ip.data(), net.data(), full) != 0) return false;
    if (rest == 0) return true;
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (ip[full] & mask) == (net[full] & mask);
}

std::string parse_cidr(std::string_view text, Cidr& out) {
    std::string_view addr = text;
    std::optional<unsigned> bits;
    if (size_t slash = text.find('/'); slash != std::string_view::npos) {
        addr = text.substr(0, slash);
        std::string_view n = text.substr(slash + 1);
        unsigned v = 0;
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
        if (n.empty() || ec != std::errc() || end != n.data() + n.size())
            return "'" + std::string(text) + "': the prefix length after '/' is not a number";
        bits = v;
    }
    std::optional<IpBytes> ip = parse_ip(addr);
    if (!ip) return "'" + std::string(text) + "' is not an address or CIDR (10.0.0.0/8, 2001:db8::/32)";
    bool v4 = addr.find(':') == std::string_view::npos;
    unsigned max = v4 ? 32 : 128;
    if (bits && *bits > max)
        return "'" + std::string(text) + "': the prefix length is at most " + std::to_string(max);
    out.net = *ip;
    out.prefix = bits ? (v4 ? *bits + 96 : *bits) : 128;
    return "";
}

std::string client_key(const std::string& peer, const http::RequestHead& head,
                       const std::vector<Cidr>& trusted) {
    std::optional<IpBytes> peer_ip = parse_ip(peer);
    if (!peer_ip) return peer;
    if (trusted.empty() || !trusted_ip(*peer_ip, trusted)) return as_key(*peer_ip);
    // Every X-Forwarded-For line, in order, as one list.
    std::vector<std::string_view> hops;
    for (const http::Header& h : head.headers) {
        if (!ascii_iequals(h.name, "X-Forwarded-For")) continue;
        std::string_view v = h.value;
        while (true) {
            size_t comma = v.find(',');
            hops.push_back(v.substr(0, comma));
            if (comma == std::string_view::npos) break;
            v.remove_prefix(comma + 1);
        }
    }
    IpBytes client = *peer_ip;  // the nearest hop so far
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
        std::optional<IpBytes> hop = parse_hop(*it);
        if (!hop) break;
        client = *hop;
        if (!trusted_ip(*hop, trusted)) break;
    }
    return as_key(client);
}

std::string key_text(const std::string& key) {
    if (key.size() != 16) return key;
    char buf[INET6_ADDRSTRLEN] = "?";
    IpBytes ip;
    std::memcpy(ip.data(), key.data(), 16);
    if (is_v4_mapped(ip))
        inet_ntop(AF_INET, key.data() + 12, buf, sizeof buf);
    else
        inet_ntop(AF_INET6, key.data(), buf, sizeof buf);
    return buf;
}

}  // namespace sluice::plugins::rate_limit
