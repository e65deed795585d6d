// Fuzz target: the small pure parsers that read outside text: percent-decoding
// (core/percent, http/url), query parameters and numbers from URLs, the UTF-8 check,
// durations and sizes from the config, listen/upstream addresses, and the Redis URL.
//
// Checked, each against an independent statement of the rule:
//  - percent_decode: nullopt exactly when a '%' lacks two hex digits; otherwise the output
//    re-encoded (%XX for every byte) decodes back to it; both decoders agree.
//  - parse_uint agrees with std::from_chars on strings of digits.
//  - valid_utf8 agrees with a reference decoder (RFC 3629 table 3-7).
//  - a parsed duration formats to text that parses to the same value; sizes never wrap.
//  - a parsed Redis URL never shows its password in endpoint_display (it goes to logs).
// Input byte 0 picks the part; the rest is the text.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/broker/redis_url.h"
#include "gateway/config/address.h"
#include "gateway/core/percent.h"
#include "gateway/core/units.h"
#include "gateway/core/utf8.h"
#include "gateway/http/url.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice;

bool escapes_well_formed(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') continue;
        if (s.size() - i < 3 || hex_digit(s[i + 1]) < 0 || hex_digit(s[i + 2]) < 0) return false;
        i += 2;
    }
    return true;
}

void check_percent(std::string_view s) {
    auto got = percent_decode(s);
    FUZZ_CHECK(got.has_value() == escapes_well_formed(s));
    FUZZ_CHECK(http::percent_decode(s) == got);
    // query_param: the first "key=value" pair answers for its own decoded key.
    std::string_view pair = s.substr(0, s.find('&'));
    size_t eq = pair.find('=');
    if (auto key = percent_decode(pair.substr(0, eq)); key && !s.empty()) {
        auto expected = eq == std::string_view::npos ? std::optional<std::string>("")
                                                     : percent_decode(pair.substr(eq + 1));
        FUZZ_CHECK(http::query_param(s, *key) == expected);
    }
    if (!got) return;
    FUZZ_CHECK(got->size() <= s.size());
    std::string encoded;
    for (unsigned char c : *got) {
        static const char* hex = "0123456789ABCDEF";
        encoded += '%';
        encoded += hex[c >> 4];
        encoded += hex[c & 15];
    }
    FUZZ_CHECK(percent_decode(encoded) == got);
}

void check_uint(std::string_view s) {
    auto got = http::parse_uint(s);
    bool digits = !s.empty();
    for (char c : s) digits = digits && c >= '0' && c <= '9';
    if (!digits) {
        FUZZ_CHECK(!got);
        return;
    }
    unsigned long long v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    bool ref_ok = ec == std::errc() && ptr == s.data() + s.size();
    FUZZ_CHECK(got.has_value() == ref_ok);
    if (got) FUZZ_CHECK(*got == v);
}

// RFC 3629 / Unicode table 3-7, byte by byte.
bool reference_utf8(std::string_view s) {
    size_t i = 0;
    auto in = [&](size_t k, unsigned lo, unsigned hi) {
        if (i + k >= s.size()) return false;
        unsigned b = static_cast<unsigned char>(s[i + k]);
        return b >= lo && b <= hi;
    };
    while (i < s.size()) {
        unsigned b = static_cast<unsigned char>(s[i]);
        size_t n = 0;
        if (b <= 0x7F) n = 1;
        else if (b >= 0xC2 && b <= 0xDF) n = in(1, 0x80, 0xBF) ? 2 : 0;
        else if (b == 0xE0) n = in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
        else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF)
            n = in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
        else if (b == 0xED) n = in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
        else if (b == 0xF0) n = in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
        else if (b >= 0xF1 && b <= 0xF3)
            n = in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
        else if (b == 0xF4) n = in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
        if (n == 0) return false;
        i += n;
    }
    return true;
}

void check_units(std::string_view s) {
    if (auto d = parse_duration(s)) {
        FUZZ_CHECK(d->count() >= 0);
        auto again = parse_duration(format_duration(*d));
        FUZZ_CHECK(again && *again == *d);
    }
    (void)parse_size(s);
}

void check_addresses(std::string_view s) {
    config::ListenAddress out;
    if (config::parse_listen_address(s, out).empty()) FUZZ_CHECK(!out.host.empty());
    (void)config::check_server_address(s);
}

void check_redis_url(std::string_view s) {
    std::string error;
    auto ep = broker::parse_redis_url(s, &error);
    if (!ep) {
        FUZZ_CHECK(!error.empty());
        return;
    }
    FUZZ_CHECK(ep->port >= 0 && ep->port <= 65535);
    FUZZ_CHECK(ep->db >= 0);
    FUZZ_CHECK(ep->is_unix() == ep->host.empty());
    broker::RedisEndpoint without = *ep;
    without.password.clear();
    FUZZ_CHECK(broker::endpoint_display(*ep) == broker::endpoint_display(without));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    std::string_view s(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 6) {
    case 0: check_percent(s); break;
    case 1: check_uint(s); break;
    case 2: FUZZ_CHECK(valid_utf8(s) == reference_utf8(s)); break;
    case 3: check_units(s); break;
    case 4: check_addresses(s); break;
    default: check_redis_url(s); break;
    }
    return 0;
}
