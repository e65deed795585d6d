// URL helpers. Query strings are decoded with %XX only: '+' stays '+' because sluice's
// clients build URLs with encodeURIComponent, which never produces '+' for a space.
#include "gateway/http/url.h"

#include "gateway/core/percent.h"

#include <limits>

namespace sluice::http {


std::optional<std::string> percent_decode(std::string_view in) {
    return sluice::percent_decode(in);
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
