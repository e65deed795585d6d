// UTF-8 validation (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
#pragma once

#include <cstddef>
#include <string_view>

namespace sluice {

bool valid_utf8(std::string_view s);

// Length of the well-formed UTF-8 sequence that starts s[at] (1 to 4), or 0 when the
// bytes there do not start one (a stray continuation byte, an overlong, a surrogate, a
// truncated sequence). For code that repairs text instead of refusing it.
size_t utf8_sequence_length(std::string_view s, size_t at);

}  // namespace sluice
