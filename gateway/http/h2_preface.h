// The HTTP/2 client connection preface (RFC 9113 section 3.4). A plain listener with
// `http2: true` serves h2c "with prior knowledge": a connection whose first bytes are the
// preface speaks HTTP/2, any other speaks HTTP/1.1. The preface starts like an HTTP/1.1
// request line ("PRI * HTTP/2.0"), so the choice waits for its 24 bytes.
#pragma once

#include <string_view>

namespace sluice::http {

inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class PrefaceMatch { Yes, No, NeedMore };

// What the first bytes of a connection (all of them so far) say.
inline PrefaceMatch match_h2_preface(std::string_view first_bytes) {
    size_t n = first_bytes.size() < kH2Preface.size() ? first_bytes.size() : kH2Preface.size();
    if (first_bytes.substr(0, n) != kH2Preface.substr(0, n)) return PrefaceMatch::No;
    return n == kH2Preface.size() ? PrefaceMatch::Yes : PrefaceMatch::NeedMore;
}

}  // namespace sluice::http
