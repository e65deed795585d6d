// The HTTP grammar shared by the http/ sources: tokens, request-target and Host checks.
// The ASCII basics (case-insensitive comparison, trimming) are core/ascii.h's; they are
// named here too so http/ code reads as before. Internal to http/.
#pragma once

#include <string>
#include <string_view>

#include "gateway/core/ascii.h"

namespace sluice::http {

using sluice::ascii_lower;
using sluice::trim_ows;
inline bool iequals(std::string_view a, std::string_view b) { return ascii_iequals(a, b); }

// tchar from RFC 9110 5.6.2: what a header name (a token) may contain.
inline bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

inline bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!is_tchar(c)) return false;
    }
    return true;
}

// Whitespace or a control character: never valid in a request target (RFC 9112 3.2).
inline bool has_space_or_ctl(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return true;
    }
    return false;
}

inline bool is_hex_digit(char c) { return ascii_is_hex_digit(c); }

// Every '%' starts a %XX escape (RFC 3986 2.1).
inline bool valid_percent_encoding(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') continue;
        if (i + 2 >= s.size() || !is_hex_digit(s[i + 1]) || !is_hex_digit(s[i + 2])) return false;
        i += 2;
    }
    return true;
}

// A Host header value (RFC 9110 7.2): uri-host [":" port], where uri-host is an
// IP-literal ("[" IPv6 "]") or a reg-name of unreserved, sub-delims and %XX escapes
// (RFC 3986 3.2.2; an IPv4 address is a reg-name by these rules). Empty is valid.
inline bool is_valid_host(std::string_view v) {
    std::string_view host = v, port;
    if (!v.empty() && v.front() == '[') {
        size_t close = v.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        for (char c : v.substr(1, close - 1)) {
            if (!is_hex_digit(c) && c != ':' && c != '.') return false;
        }
        host = {};
        std::string_view rest = v.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port = rest.substr(1);
        }
    } else if (size_t colon = v.find(':'); colon != std::string_view::npos) {
        host = v.substr(0, colon);
        port = v.substr(colon + 1);
    }
    for (char c : port) {
        if (c < '0' || c > '9') return false;
    }
    for (size_t i = 0; i < host.size(); ++i) {
        char c = host[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
        if (c == '%') {
            if (i + 2 >= host.size() || !is_hex_digit(host[i + 1]) || !is_hex_digit(host[i + 2]))
                return false;
            i += 2;
            continue;
        }
        if (std::string_view("-._~!$&'()*+,;=").find(c) == std::string_view::npos) return false;
    }
    return true;
}

}  // namespace sluice::http
