// URL helpers. Query strings are decoded with %XX only: '+' stays '+' because sluice's
// clients build URLs with encodeURIComponent, which never produces '+' for a space.
#include "gateway/http/url.h"

#include <limits>

namespace sluice::http {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        if (in.size() - i < 3) return std::nullopt;  // '%' needs two hex digits after it
        int hi = hex_digit(in[i + 1]);
        int lo = hex_digit(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

// Names are decoded before comparing, so "last%5Fid" matches "last_id". A parameter whose
// name is malformed is skipped; if the first match has a malformed value the result is
// nullopt (treated as absent) rather than a guess at what was meant.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);

        size_t eq = pair.find('=');
        std::optional<std::string> key = percent_decode(pair.substr(0, eq));
        if (!key || *key != name) continue;
        if (eq == std::string_view::npos) return std::string();
        return percent_decode(pair.substr(eq + 1));
    }
    return std::nullopt;
}

std::optional<unsigned long long> parse_uint(std::string_view s) {
    constexpr unsigned long long kMax = std::numeric_limits<unsigned long long>::max();
    if (s.empty()) return std::nullopt;
    unsigned long long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        unsigned d = static_cast<unsigned>(c - '0');
        if (v > (kMax - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

}  // namespace sluice::http
