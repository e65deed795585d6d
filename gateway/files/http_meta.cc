#include "gateway/files/http_meta.h"

#include <array>
#include <cstdio>
#include <ctime>

#include "gateway/core/ascii.h"

namespace sluice::files {

namespace {

std::optional<uint64_t> parse_digits(std::string_view s) {
    if (s.empty() || s.size() > 19) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
}

struct TypeEntry {
    std::string_view ext;
    std::string_view type;
};

constexpr std::array<TypeEntry, 40> kTypes{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"bmp", "image/bmp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"manifest", "application/manifest+json"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"flac", "audio/flac"},
    {"bin", "application/octet-stream"},
}};

constexpr std::array<std::string_view, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Strips W/ from a weak tag: weak comparison ignores it (RFC 9110 8.8.3.2).
std::string_view opaque(std::string_view tag) {
    tag = trim_ows(tag);
    if (tag.size() >= 2 && tag[0] == 'W' && tag[1] == '/') tag.remove_prefix(2);
    return tag;
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
    size_t slash = name.rfind('/');
    if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
    size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot + 1 == name.size()) return "application/octet-stream";
    std::string ext;
    for (char c : name.substr(dot + 1)) ext += ascii_lower(c);
    for (const auto& t : kTypes) {
        if (t.ext == ext) return t.type;
    }
    return "application/octet-stream";
}

std::string format_http_date(int64_t secs) {
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                  kDays[static_cast<size_t>(tm.tm_wday)].data(), tm.tm_mday,
                  kMonths[static_cast<size_t>(tm.tm_mon)].data(), tm.tm_year + 1900, tm.tm_hour,
                  tm.tm_min, tm.tm_sec);
    return buf;
}

std::optional<int64_t> parse_http_date(std::string_view s) {
    s = trim_ows(s);
    // "Sun, 06 Nov 1994 08:49:37 GMT": 29 characters at fixed positions.
    if (s.size() != 29 || s.substr(3, 2) != ", " || s.substr(25) != " GMT") return std::nullopt;
    auto num = [&](size_t pos, size_t len) { return parse_digits(s.substr(pos, len)); };
    auto day = num(5, 2), year = num(12, 4), hour = num(17, 2), min = num(20, 2), sec = num(23, 2);
    if (!day || !year || !hour || !min || !sec || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[19] != ':' || s[22] != ':')
        return std::nullopt;
    int month = -1;
    for (size_t i = 0; i < kMonths.size(); ++i) {
        if (s.substr(8, 3) == kMonths[i]) month = static_cast<int>(i);
    }
    if (month < 0 || *day < 1 || *day > 31 || *hour > 23 || *min > 59 || *sec > 60)
        return std::nullopt;
    std::tm tm{};
    tm.tm_year = static_cast<int>(*year) - 1900;
    tm.tm_mon = month;
    tm.tm_mday = static_cast<int>(*day);
    tm.tm_hour = static_cast<int>(*hour);
    tm.tm_min = static_cast<int>(*min);
    tm.tm_sec = static_cast<int>(*sec);
    return static_cast<int64_t>(timegm(&tm));
}

std::string make_etag(int64_t mtime_sec, int64_t mtime_nsec, uint64_t size) {
    char buf[80];
    // Nanoseconds are folded in so that two writes within one second still differ.
    std::snprintf(buf, sizeof buf, "\"%llx-%llx-%llx\"", static_cast<unsigned long long>(mtime_sec),
                  static_cast<unsigned long long>(mtime_nsec),
                  static_cast<unsigned long long>(size));
    return buf;
}

bool none_match_hits(std::string_view list, std::string_view etag) {
    if (trim_ows(list) == "*") return true;
    while (!list.empty()) {
        size_t comma = list.find(',');
        if (opaque(list.substr(0, comma)) == opaque(etag)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

bool not_modified(const std::string* inm, const std::string* ims, std::string_view etag,
                  int64_t mtime_sec) {
    if (inm) return none_match_hits(*inm, etag);
    if (ims) {
        auto since = parse_http_date(*ims);
        return since && mtime_sec <= *since;
    }
    return false;
}

namespace {

// A byte position: digits only (no sign, no spaces). Positions past 2^64 - 1 saturate
// there, which is past the end of any file, so they never wrap (#9).
std::optional<uint64_t> parse_position(std::string_view s) {
    if (s.empty()) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        auto digit = static_cast<uint64_t>(c - '0');
        v = v > (UINT64_MAX - digit) / 10 ? UINT64_MAX : v * 10 + digit;
    }
    return v;
}

}  // namespace

RangeDecision decide_range(std::string_view header, uint64_t size) {
    RangeDecision d;
    header = trim_ows(header);
    // The range unit is case-insensitive (RFC 9110 14.1).
    if (header.size() < 6 || !ascii_iequals(header.substr(0, 6), "bytes=")) return d;
    std::string_view spec = trim_ows(header.substr(6));
    if (spec.find(',') != std::string_view::npos) return d;  // several ranges: whole file
    size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return d;
    std::string_view a = trim_ows(spec.substr(0, dash)), b = trim_ows(spec.substr(dash + 1));
    if (a.empty()) {  // suffix: the last N bytes
        auto n = parse_position(b);
        if (!n) return d;
        if (*n == 0 || size == 0) {
            d.kind = RangeDecision::Kind::Unsatisfiable;
            return d;
        }
        d.kind = RangeDecision::Kind::Partial;
        d.range.first = *n >= size ? 0 : size - *n;
        d.range.last = size - 1;
        return d;
    }
    auto first = parse_position(a);
    if (!first) return d;
    std::optional<uint64_t> last;
    if (!b.empty()) {
        last = parse_position(b);
        if (!last || *last < *first) return d;  // invalid: ignored, whole file
    }
    if (*first >= size) {
        d.kind = RangeDecision::Kind::Unsatisfiable;
        return d;
    }
    d.kind = RangeDecision::Kind::Partial;
    d.range.first = *first;
    d.range.last = (!last || *last >= size) ? size - 1 : *last;
    return d;
}

bool if_range_matches(std::string_view if_range, std::string_view etag, int64_t mtime_sec) {
    if_range = trim_ows(if_range);
    if (!if_range.empty() && (if_range.front() == '"' || if_range.substr(0, 2) == "W/")) {
        return if_range == etag;  // strong comparison; a weak tag never matches
    }
    auto date = parse_http_date(if_range);
    return date && *date == mtime_sec;
}

}  // namespace sluice::files
