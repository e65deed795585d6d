// The HTTP side of serving a file: Content-Type by extension, ETag and Last-Modified
// validators, conditional requests (304) and byte ranges (206/416). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::files {

// "text/html; charset=utf-8", "image/png", ...; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view file_name);

// IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(int64_t unix_seconds);
// Accepts IMF-fixdate (the only form sluice needs to compare with its own dates).
std::optional<int64_t> parse_http_date(std::string_view text);

// A strong validator from size and modification time, as nginx builds it: "5f1c2a3b-1a2b".
std::string make_etag(int64_t mtime_sec, int64_t mtime_nsec, uint64_t size);

// If-None-Match: true when a listed tag matches `etag` by weak comparison, or it is "*".
bool none_match_hits(std::string_view if_none_match, std::string_view etag);

// Whether a GET with these headers gets 304: If-None-Match decides when present,
// If-Modified-Since otherwise (RFC 9110 13.2.2).
bool not_modified(const std::string* if_none_match, const std::string* if_modified_since,
                  std::string_view etag, int64_t mtime_sec);

struct ByteRange {
    uint64_t first = 0;
    uint64_t last = 0;  // inclusive
    uint64_t length() const { return last - first + 1; }
};

struct RangeDecision {
    enum class Kind {
        Full,           // no Range, or one sluice ignores (not bytes, several ranges, malformed)
        Partial,        // one satisfiable range: 206
        Unsatisfiable,  // 416
    };
    Kind kind = Kind::Full;
    ByteRange range;
};

// Range for a file of `size` bytes. Several ranges get the whole file (allowed by RFC 9110
// 14.2; multipart answers are not worth their complexity here).
RangeDecision decide_range(std::string_view range_header, uint64_t size);

// If-Range: the range applies only if the validator still matches (strong ETag or the
// exact Last-Modified date).
bool if_range_matches(std::string_view if_range, std::string_view etag, int64_t mtime_sec);

}  // namespace sluice::files
