#include "gateway/broker/redis_url.h"

#include <charconv>
#include <climits>

#include "gateway/core/ascii.h"

namespace sluice::broker {
namespace {

bool fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return false;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Passwords often contain '@', ':' or '/', which a URL can only carry percent-encoded.
bool percent_decode(std::string_view in, std::string& out, std::string* error) {
    out.clear();
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
        int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
        if (lo < 0) return fail(error, "bad percent-encoding in redis URL");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return true;
}

// Decimal digits only (no sign, no spaces), within [0, max].
bool parse_uint(std::string_view s, long long max, long long& out) {
    if (s.empty() || s.size() > 10) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    long long v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || v > max) return false;
    out = v;
    return true;
}

bool set_db(std::string_view text, RedisEndpoint& ep, std::string* error) {
    long long db = 0;
    if (!parse_uint(text, INT_MAX, db))
        return fail(error, "redis URL database must be a number, got '" + std::string(text) + "'");
    ep.db = static_cast<int>(db);
    return true;
}

// "[user]:password" before the '@'. A userinfo without ':' would be ambiguous (user or
// password?), so it is rejected with a hint instead of guessed.
bool parse_userinfo(std::string_view info, RedisEndpoint& ep, std::string* error) {
    size_t colon = info.find(':');
    if (colon == std::string_view::npos)
        return fail(error, "redis URL credentials must be '[user]:password@'");
    return percent_decode(info.substr(0, colon), ep.username, error) &&
           percent_decode(info.substr(colon + 1), ep.password, error);
}

bool parse_query(std::string_view query, RedisEndpoint& ep, std::string* error) {
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.empty()) continue;
        size_t eq = item.find('=');
        if (eq == std::string_view::npos)
            return fail(error, "redis URL query item '" + std::string(item) + "' has no '='");
        std::string_view key = item.substr(0, eq);
        std::string value;
        if (!percent_decode(item.substr(eq + 1), value, error)) return false;
        if (key == "db") {
            if (!set_db(value, ep, error)) return false;
        } else if (key == "password") {
            ep.password = value;
        } else if (key == "username") {
            ep.username = value;
        } else {
            return fail(error, "unknown redis URL query key '" + std::string(key) + "'");
        }
    }
    return true;
}

bool parse_host_port(std::string_view hp, RedisEndpoint& ep, std::string* error) {
    std::string_view port_text;
    bool has_port = false;
    if (!hp.empty() && hp.front() == '[') {
        size_t close = hp.find(']');
        if (close == std::string_view::npos) return fail(error, "redis URL has an unclosed '['");
        ep.host = std::string(hp.substr(1, close - 1));
        std::string_view rest = hp.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return fail(error, "redis URL has junk after ']'");
            port_text = rest.substr(1);
            has_port = true;
        }
    } else {
        size_t colon = hp.find(':');
        ep.host = std::string(hp.substr(0, colon));
        if (colon != std::string_view::npos) {
            if (hp.find(':', colon + 1) != std::string_view::npos)
                return fail(error, "IPv6 addresses in a redis URL need brackets: [::1]:6379");
            port_text = hp.substr(colon + 1);
            has_port = true;
        }
    }
    if (ep.host.empty()) return fail(error, "redis URL has no host");
    if (has_port) {
        long long port = 0;
        if (!parse_uint(port_text, 65535, port) || port == 0)
            return fail(error, "redis URL port must be 1-65535, got '" + std::string(port_text) +
                                   "'");
        ep.port = static_cast<int>(port);
    }
    return true;
}

bool parse_tcp(std::string_view rest, RedisEndpoint& ep, std::string* error) {
    size_t q = rest.find('?');
    std::string_view query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
    rest = rest.substr(0, q);
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view{}
                                                            : rest.substr(slash + 1);
    // The last '@' ends the userinfo: an unencoded '@' in a password still parses.
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        if (!parse_userinfo(authority.substr(0, at), ep, error)) return false;
        authority = authority.substr(at + 1);
    }
    if (!parse_host_port(authority, ep, error)) return false;
    if (!path.empty() && !set_db(path, ep, error)) return false;
    return parse_query(query, ep, error);
}

bool parse_unix(std::string_view rest, RedisEndpoint& ep, std::string* error) {
    size_t q = rest.find('?');
    std::string_view query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
    rest = rest.substr(0, q);
    if (!rest.empty() && rest.front() != '/') {
        size_t at = rest.find("@/");
        if (at == std::string_view::npos)
            return fail(error, "unix socket URL needs an absolute path: unix:///path/redis.sock");
        if (!parse_userinfo(rest.substr(0, at), ep, error)) return false;
        rest = rest.substr(at + 1);
    }
    if (rest.size() < 2) return fail(error, "unix socket URL has no path");
    ep.unix_path = std::string(rest);
    ep.host.clear();
    return parse_query(query, ep, error);
}

}  // namespace

std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string* error) {
    RedisEndpoint ep;
    bool ok = false;
    if (ascii_istarts_with(url, "redis://")) {
        ok = parse_tcp(url.substr(8), ep, error);
    } else if (ascii_istarts_with(url, "unix://")) {
        ok = parse_unix(url.substr(7), ep, error);
    } else if (ascii_istarts_with(url, "rediss://")) {
        ok = fail(error, "rediss:// (TLS) is not supported; use redis:// or unix://");
    } else {
        ok = fail(error, "redis URL must start with redis:// or unix://");
    }
    if (!ok) return std::nullopt;
    return ep;
}

std::string endpoint_display(const RedisEndpoint& ep) {
    std::string out;
    if (ep.is_unix()) {
        out = "unix:" + ep.unix_path;
    } else {
        bool v6 = ep.host.find(':') != std::string::npos;
        out = (v6 ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(ep.port);
    }
    out += " db=" + std::to_string(ep.db);
    if (!ep.username.empty()) out += " user=" + ep.username;
    return out;
}

}  // namespace sluice::broker
