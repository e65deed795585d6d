#include "bench/sluice_bench/target.h"

#include <arpa/inet.h>

#include <charconv>

namespace sluice::bench {
namespace {

std::optional<uint32_t> parse_ipv4(std::string_view text) {
    std::string s(text);
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return ntohl(a.s_addr);
}

bool is_ipv6_loopback(std::string_view text) {
    std::string s(text);
    in6_addr a{};
    return inet_pton(AF_INET6, s.c_str(), &a) == 1 && IN6_IS_ADDR_LOOPBACK(&a);
}

bool set_error(std::string* error, std::string msg) {
    if (error) *error = std::move(msg);
    return false;
}

}  // namespace

bool is_loopback_ip(std::string_view ip) {
    if (auto v4 = parse_ipv4(ip)) return (*v4 >> 24) == 127;
    return is_ipv6_loopback(ip);
}

std::optional<Endpoint> parse_host_port(std::string_view text, uint16_t default_port,
                                        std::string* error) {
    std::string_view host = text;
    std::string_view port;
    bool bracketed = false;
    if (!text.empty() && text[0] == '[') {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            set_error(error, "unterminated '[' in \"" + std::string(text) + "\"");
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        std::string_view after = text.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') {
                set_error(error, "expected ':' after ']' in \"" + std::string(text) + "\"");
                return std::nullopt;
            }
            port = after.substr(1);
        }
        bracketed = true;
    } else if (std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    Endpoint ep;
    const std::string not_loopback =
        "\"" + std::string(host) +
        "\" is not a loopback address (allowed: 127.0.0.0/8, [::1], localhost; names are not"
        " resolved)";
    if (host == "localhost") {
        ep.ip = "127.0.0.1";
    } else if (bracketed) {
        if (!is_ipv6_loopback(host)) {
            set_error(error, not_loopback);
            return std::nullopt;
        }
        ep.ip = std::string(host);
        ep.ipv6 = true;
    } else {
        auto v4 = parse_ipv4(host);
        if (!v4 || (*v4 >> 24) != 127) {
            set_error(error, not_loopback);
            return std::nullopt;
        }
        ep.ip = std::string(host);
    }
    if (port.empty()) {
        if (default_port == 0) {
            set_error(error, "missing port in \"" + std::string(text) + "\"");
            return std::nullopt;
        }
        ep.port = default_port;
    } else {
        unsigned v = 0;
        auto r = std::from_chars(port.data(), port.data() + port.size(), v);
        if (r.ec != std::errc() || r.ptr != port.data() + port.size() || v == 0 || v > 65535) {
            set_error(error, "bad port \"" + std::string(port) + "\"");
            return std::nullopt;
        }
        ep.port = static_cast<uint16_t>(v);
    }
    return ep;
}

std::optional<UrlTemplate> parse_url(std::string_view url, std::string* error) {
    constexpr std::string_view kHttp = "http://", kHttps = "https://";
    bool tls = url.substr(0, kHttps.size()) == kHttps;
    if (!tls && url.substr(0, kHttp.size()) != kHttp) {
        set_error(error, "URL \"" + std::string(url) + "\" must start with http:// or https://");
        return std::nullopt;
    }
    std::string_view rest = url.substr(tls ? kHttps.size() : kHttp.size());
    std::size_t slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "/" : rest.substr(slash);
    if (authority.find_first_of("{}@") != std::string_view::npos) {
        set_error(error, "URL \"" + std::string(url) +
                             "\": templates and credentials are not allowed in the host part");
        return std::nullopt;
    }
    std::string why;
    auto ep = parse_host_port(authority, tls ? 443 : 80, &why);
    if (!ep) {
        set_error(error, "URL \"" + std::string(url) + "\": " + why);
        return std::nullopt;
    }
    UrlTemplate t;
    t.endpoint = *ep;
    t.tls = tls;
    t.host_header = std::string(authority);
    t.path_template = path[0] == '?' ? "/" + std::string(path) : std::string(path);
    return t;
}

std::optional<std::vector<uint32_t>> parse_source_ips(std::string_view text, std::string* error) {
    std::vector<uint32_t> out;
    auto loopback4 = [&](std::string_view s) -> std::optional<uint32_t> {
        auto v = parse_ipv4(s);
        if (!v || (*v >> 24) != 127) {
            set_error(error, "source address \"" + std::string(s) +
                                 "\" is not an IPv4 loopback address (127.0.0.0/8)");
            return std::nullopt;
        }
        return v;
    };
    if (std::size_t dash = text.find('-'); dash != std::string_view::npos) {
        auto lo = loopback4(text.substr(0, dash));
        if (!lo) return std::nullopt;
        auto hi = loopback4(text.substr(dash + 1));
        if (!hi) return std::nullopt;
        if (*hi < *lo) {
            set_error(error, "source range \"" + std::string(text) + "\" runs backwards");
            return std::nullopt;
        }
        for (uint64_t a = *lo; a <= *hi; ++a) out.push_back(static_cast<uint32_t>(a));
        return out;
    }
    while (!text.empty()) {
        std::size_t comma = text.find(',');
        auto v = loopback4(text.substr(0, comma));
        if (!v) return std::nullopt;
        out.push_back(*v);
        text = comma == std::string_view::npos ? "" : text.substr(comma + 1);
    }
    if (out.empty()) {
        set_error(error, "empty source address list");
        return std::nullopt;
    }
    return out;
}

std::string ipv4_to_string(uint32_t host_order) {
    return std::to_string(host_order >> 24) + "." + std::to_string((host_order >> 16) & 0xff) +
           "." + std::to_string((host_order >> 8) & 0xff) + "." + std::to_string(host_order & 0xff);
}

std::string expand_template(std::string_view tmpl, uint64_t index, uint64_t channel) {
    std::string out;
    out.reserve(tmpl.size() + 16);
    while (!tmpl.empty()) {
        std::size_t brace = tmpl.find('{');
        if (brace == std::string_view::npos) break;
        out.append(tmpl.substr(0, brace));
        std::string_view at = tmpl.substr(brace);
        if (at.substr(0, 3) == "{i}") {
            out.append(std::to_string(index));
            tmpl = at.substr(3);
        } else if (at.substr(0, 3) == "{c}") {
            out.append(std::to_string(channel));
            tmpl = at.substr(3);
        } else {
            out.push_back('{');
            tmpl = at.substr(1);
        }
    }
    out.append(tmpl);
    return out;
}

}  // namespace sluice::bench
