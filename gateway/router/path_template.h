// Path templates ("/api/analysis/{id}/stream"), literal path prefixes ("/api/") and
// channel templates ("analysis:{id}"): the one grammar for all three. The config loader
// checks a config's templates with these parsers (so their errors get file:line:col),
// and the route table compiles them. Error messages name no location; callers add it.
// Pure: no I/O. Captures are percent-decoded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::router {

using Captures = std::vector<std::pair<std::string, std::string>>;  // name -> decoded value

// A captured value that becomes part of a channel must match [A-Za-z0-9_.:-]{1,128}.
bool valid_channel_value(std::string_view value);

// A capture or placeholder name: [A-Za-z_][A-Za-z0-9_]*.
bool valid_capture_name(std::string_view name);

// A literal path prefix: starts with '/', no {captures}, no query or fragment, only
// path characters and %XX escapes. Returns an error message, or "" when valid.
std::string check_prefix(std::string_view text);

class PathTemplate {
  public:
    // Segments are literal path characters (RFC 3986 pchar, %XX escapes) or a whole
    // segment "{name}"; must start with '/'; only the last segment may be empty; a name
    // appears once. Returns nullopt and sets *error on a malformed template.
    static std::optional<PathTemplate> parse(std::string_view text, std::string* error);

    // Matches a raw (still percent-encoded) request path. Each {name} matches exactly one
    // non-empty segment; captured values are percent-decoded (a bad escape = no match).
    bool match(std::string_view raw_path, Captures& out) const;

    const std::vector<std::string>& capture_names() const { return names_; }

  private:
    struct Segment {
        bool capture = false;
        std::string text;  // literal text, or capture name
    };
    std::vector<Segment> segments_;
    std::vector<std::string> names_;
};

class ChannelTemplate {
  public:
    // Literal channel characters [A-Za-z0-9_.:-] and "{name}" placeholders, each name
    // once, e.g. "analysis:{id}" or "news".
    static std::optional<ChannelTemplate> parse(std::string_view text, std::string* error);

    enum class ExpandError { None, MissingCapture, InvalidValue };
    // Builds the channel for a request. Every placeholder's value must satisfy
    // valid_channel_value, else InvalidValue (the request gets 400).
    std::optional<std::string> expand(const Captures& captures, ExpandError* err) const;

    // Does a concrete channel name fit this template? ("analysis:42" fits "analysis:{id}")
    // Used on the publish side to find which route's history settings apply.
    bool fits(std::string_view channel) const;

    // The template in order: literal text and placeholders (broker/redis_glob.h turns
    // them into a Redis pattern).
    struct Piece {
        bool placeholder = false;
        std::string text;  // literal text, or placeholder name
    };
    const std::vector<Piece>& pieces() const { return pieces_; }

    const std::vector<std::string>& placeholder_names() const { return names_; }
    const std::string& text() const { return text_; }

  private:
    std::string text_;
    std::vector<Piece> pieces_;
    std::vector<std::string> names_;
};

}  // namespace sluice::router
