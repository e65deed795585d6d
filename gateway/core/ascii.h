// ASCII character classes and case-insensitive comparison for protocol text: header
// names, tokens, URL schemes, config names. Locale-aware functions (std::tolower,
// std::isalpha) are wrong for these: a locale could treat bytes above 0x7f as letters.
// The one copy of these helpers; http/ascii.h adds the HTTP grammar on top.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

inline bool ascii_is_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool ascii_is_alpha(char c) { return ascii_is_upper(c) || (c >= 'a' && c <= 'z'); }
inline bool ascii_is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool ascii_is_alnum(char c) { return ascii_is_alpha(c) || ascii_is_digit(c); }
inline bool ascii_is_hex_digit(char c) {
    return ascii_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

inline char ascii_lower(char c) { return ascii_is_upper(c) ? static_cast<char>(c + 32) : c; }

inline std::string ascii_lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

inline bool ascii_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

// Does `s` start with `prefix`, ignoring ASCII case? ("Bearer " in Authorization)
inline bool ascii_istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

// Strips spaces and horizontal tabs at both ends: HTTP's optional whitespace
// (RFC 9110 5.6.3), also what list items and header values are trimmed of.
inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace sluice
