// Where a request carries its token: the Authorization header ("Bearer <token>"), a
// cookie, or a query parameter (EventSource cannot set headers). Pure functions over the
// parsed request head.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/http/request.h"

namespace sluice::plugins::jwt {

struct TokenSource {
    enum class Kind { Bearer, Cookie, Query };
    Kind kind = Kind::Bearer;
    std::string name;  // the cookie's or the query parameter's name

    bool operator==(const TokenSource&) const = default;
};

// "header", "cookie:<name>", "query:<name>". nullopt (with `error` set) otherwise.
std::optional<TokenSource> parse_token_source(std::string_view text, std::string& error);

// The token of the first source that has one, in the order given; "" when none has.
std::string find_token(const http::RequestHead& head, const std::vector<TokenSource>& from);

// "Bearer <token>" (scheme case-insensitive): the token, or nullopt for another scheme or
// an empty token.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// The value of cookie `name` in one Cookie header ("a=1; b=2"); nullopt when absent.
// A value in double quotes is returned without them (RFC 6265 cookie-value).
std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace sluice::plugins::jwt
