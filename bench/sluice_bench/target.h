// Where the bench connects: http:// and https:// URL templates ({i} = connection index, {c} = channel
// index), host:port pairs and source-address ranges. Every address must be loopback
// (127.0.0.0/8, ::1 or "localhost"): the bench is a local tool and refuses to load anything
// else. Pure; parsing uses inet_pton only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::bench {

struct Endpoint {
    std::string ip;     // numeric: "127.0.0.1" or "::1" ("localhost" becomes 127.0.0.1)
    uint16_t port = 0;
    bool ipv6 = false;
};

struct UrlTemplate {
    Endpoint endpoint;
    bool tls = false;           // https://
    std::string host_header;    // as written in the URL, e.g. "localhost:8080"
    std::string path_template;  // path and query, may contain {i} and {c}
};

bool is_loopback_ip(std::string_view ip);

// "http://HOST[:PORT][/path]" or "https://...". Sets *error and returns nullopt for other
// schemes, templates in the authority, or hosts that are not loopback.
std::optional<UrlTemplate> parse_url(std::string_view url, std::string* error);

// "HOST:PORT" or "[::1]:PORT" (PORT may be omitted when default_port is non-zero).
std::optional<Endpoint> parse_host_port(std::string_view text, uint16_t default_port,
                                        std::string* error);

// "127.0.0.2-127.0.0.254" (inclusive range) or "127.0.0.2,127.0.0.3"; all in 127.0.0.0/8.
// Returns IPv4 addresses in host byte order.
std::optional<std::vector<uint32_t>> parse_source_ips(std::string_view text, std::string* error);
std::string ipv4_to_string(uint32_t host_order);

// Replaces every {i} with `index` and every {c} with `channel`.
std::string expand_template(std::string_view tmpl, uint64_t index, uint64_t channel);

}  // namespace sluice::bench
