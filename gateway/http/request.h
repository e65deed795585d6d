// A parsed HTTP/1.1 request head (and, for the small bodies sluice reads itself,
// its body). Owned by the connection that parsed it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::http {

struct Header {
    std::string name;   // as received
    std::string value;  // leading/trailing whitespace removed
};

struct RequestHead {
    std::string method;  // "GET", "POST", ...
    std::string target;  // raw request target as received ("/a/b?x=1")
    std::string path;    // target up to '?', still percent-encoded
    std::string query;   // after '?', without it ("" if none)
    int version_major = 1;
    int version_minor = 1;
    bool keep_alive = true;  // from version and Connection header
    std::vector<Header> headers;

    // Case-insensitive lookup of the first header with that name.
    const std::string* header(std::string_view name) const;
};

}  // namespace sluice::http
