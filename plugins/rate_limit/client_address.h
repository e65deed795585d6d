// Who a request counts against: its peer's IP address, or, when the peer is a trusted
// proxy, the client that proxy reports in X-Forwarded-For. Addresses are compared as
// 16 bytes (IPv4 as ::ffff:a.b.c.d), so "10.0.0.1" and "::ffff:10.0.0.1" are one client.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/http/request.h"

namespace sluice::plugins::rate_limit {

using IpBytes = std::array<unsigned char, 16>;

// A numeric IPv4 or IPv6 address (no port, no brackets, no zone).
std::optional<IpBytes> parse_ip(std::string_view text);

// "10.0.0.0/8", "2001:db8::/32", or one address ("10.1.2.3" = /32, "::1" = /128).
struct Cidr {
    IpBytes net{};
    unsigned prefix = 128;  // in the 16-byte form: an IPv4 /8 is stored as /104
    bool contains(const IpBytes& ip) const;
};
// Returns an error message, or "" and fills `out`.
std::string parse_cidr(std::string_view text, Cidr& out);

// The client a request counts against. Without trusted proxies (or when the peer is not
// one) the peer itself. Otherwise X-Forwarded-For is read right to left (every such header,
// in order): each trusted address is skipped, the first one that is not trusted is the
// client. An entry that is not an address ends the scan at the hop before it (the proxy
// that forwarded it); a header of trusted addresses only gives its leftmost one.
// The result is a map key: the 16 address bytes, or the peer text when it is no address.
std::string client_key(const std::string& peer, const http::RequestHead& head,
                       const std::vector<Cidr>& trusted);

// The key as an address, for logs: "10.1.2.3", "2001:db8::1".
std::string key_text(const std::string& key);

}  // namespace sluice::plugins::rate_limit
