// base64url without padding (RFC 4648 section 5), the encoding of a JWT's three parts and
// of a JWK's numbers. Strict: padding, whitespace or a standard-base64 '+' or '/' is an
// error, and so is a final character with bits set that the length cannot hold, so one
// text decodes to one byte string and back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::plugins::jwt {

std::optional<std::string> base64url_decode(std::string_view text);
std::string base64url_encode(std::string_view bytes);

}  // namespace sluice::plugins::jwt
