#include "gateway/core/utf8.h"

namespace sluice {

size_t utf8_sequence_length(std::string_view s, size_t at) {
    size_t n = s.size();
    auto c = static_cast<unsigned char>(s[at]);
    if (c < 0x80) return 1;
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF; // bounds for the second byte
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c == 0xE0)
        len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC)
        len = 3;
    else if (c == 0xED)
        len = 3, hi = 0x9F; // no UTF-16 surrogates
    else if (c >= 0xEE && c <= 0xEF)
        len = 3;
    else if (c == 0xF0)
        len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        len = 4;
    else if (c == 0xF4)
        len = 4, hi = 0x8F; // <= U+10FFFF
    else
        return 0;
    if (at + len > n) return 0;
    auto b1 = static_cast<unsigned char>(s[at + 1]);
    if (b1 < lo || b1 > hi) return 0;
    for (size_t k = 2; k < len; ++k) {
        auto b = static_cast<unsigned char>(s[at + k]);
        if (b < 0x80 || b > 0xBF) return 0;
    }
    return len;
}

bool valid_utf8(std::string_view s) {
    size_t i = 0, n = s.size();
    while (i < n) {
        if (static_cast<unsigned char>(s[i]) < 0x80) { // the common case, without a call
            ++i;
            continue;
        }
        size_t len = utf8_sequence_length(s, i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

}  // namespace sluice
