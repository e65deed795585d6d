#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "gateway/core/json_object.h"
#include "gateway/core/log.h"
#include "gateway/core/utf8.h"

using sluice::json::JsonObject;

namespace {

// The builder's text for one string field, parsed back by a strict parser (nlohmann
// rejects invalid UTF-8 and raw control characters inside strings).
nlohmann::json round_trip(const std::string& value) {
    std::string text = JsonObject().add("v", value).str();
    return nlohmann::json::parse(text);
}

std::string hex(const std::string& s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
    return out;
}

} // namespace

TEST_CASE("fields keep their types", "[core][json]") {
    std::string text = JsonObject()
                           .add({{"s", "text"},
                                 {"i", -42},
                                 {"u", uint64_t{18446744073709551615ULL}},
                                 {"d", 0.25},
                                 {"t", true},
                                 {"f", false}})
                           .str();
    CHECK(text == R"({"s":"text","i":-42,"u":18446744073709551615,"d":0.25,"t":true,"f":false})");
    auto doc = nlohmann::json::parse(text);
    CHECK(doc["s"].is_string());
    CHECK(doc["i"].is_number_integer());
    CHECK(doc["u"].get<uint64_t>() == 18446744073709551615ULL);
    CHECK(doc["d"].get<double>() == 0.25);
    CHECK(doc["t"].is_boolean());
}

TEST_CASE("an empty object and a non-finite double are valid JSON", "[core][json]") {
    CHECK(JsonObject().str() == "{}");
    CHECK(JsonObject().add("x", std::nan("")).str() == R"({"x":null})");
    CHECK(JsonObject().add("x", std::numeric_limits<double>::infinity()).str() == R"({"x":null})");
}

TEST_CASE("quotes, backslashes and control characters are escaped", "[core][json]") {
    std::string hostile = "a\"b\\c\n\r\t\b\f";
    hostile += '\0';
    hostile += "\x01\x1f\x7f";
    std::string text = JsonObject().add("v", hostile).str();
    CHECK(text == R"({"v":"a\"b\\c\n\r\t\b\f\u0000\u0001\u001f\u007f"})");
    CHECK(nlohmann::json::parse(text)["v"].get<std::string>() == hostile);
}

TEST_CASE("keys are escaped like values", "[core][json]") {
    std::string text = JsonObject().add("k\"\xff", 1).str();
    auto doc = nlohmann::json::parse(text);
    CHECK(doc.contains("k\"\xEF\xBF\xBD"));
}

TEST_CASE("valid UTF-8 passes through unchanged", "[core][json]") {
    std::string s = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
    CHECK(round_trip(s)["v"].get<std::string>() == s);
}

TEST_CASE("bytes that are not UTF-8 become U+FFFD, one per byte", "[core][json]") {
    const std::string r = "\xEF\xBF\xBD";
    CHECK(round_trip("\xff")["v"] == r);
    CHECK(round_trip("a\xC3")["v"] == "a" + r);                  // truncated sequence
    CHECK(round_trip("\xC0\xAF")["v"] == r + r);                 // overlong '/'
    CHECK(round_trip("\xED\xA0\x80")["v"] == r + r + r);         // a UTF-16 surrogate
    CHECK(round_trip("\xF4\x90\x80\x80")["v"] == r + r + r + r); // above U+10FFFF
    CHECK(round_trip("\x80x")["v"] == r + "x");                  // stray continuation byte
}

TEST_CASE("any byte string gives one valid JSON object (random inputs)", "[core][json]") {
    std::mt19937 rng(20261202);
    // Bytes drawn mostly from the interesting ones: controls, quote, backslash, UTF-8
    // lead and continuation bytes, invalid bytes.
    const std::string interesting = std::string("\0\x01\x1f\"\\\n\r\x7f", 8) +
                                    "\x80\xBF\xC0\xC2\xDF\xE0\xED\xEF\xF0\xF4\xF5\xFF"
                                    "aZ/%";
    std::uniform_int_distribution<int> len_dist(0, 48);
    std::uniform_int_distribution<int> pick(0, 3);
    std::uniform_int_distribution<int> any_byte(0, 255);
    std::uniform_int_distribution<size_t> from_set(0, interesting.size() - 1);
    for (int iter = 0; iter < 20000; ++iter) {
        std::string in;
        int len = len_dist(rng);
        for (int i = 0; i < len; ++i)
            in += pick(rng) == 0 ? static_cast<char>(any_byte(rng)) : interesting[from_set(rng)];
        std::string text = JsonObject().add("v", in).add("n", iter).str();
        INFO("input bytes (hex): " << hex(in));
        REQUIRE(sluice::valid_utf8(text));
        REQUIRE(text.find('\n') == std::string::npos); // one line
        nlohmann::json doc;
        REQUIRE_NOTHROW(doc = nlohmann::json::parse(text));
        REQUIRE(doc.size() == 2);
        REQUIRE(doc["n"] == iter);
        std::string decoded = doc["v"].get<std::string>();
        if (sluice::valid_utf8(in)) REQUIRE(decoded == in);
        // The same bytes as a key.
        REQUIRE_NOTHROW(nlohmann::json::parse(JsonObject().add(in, 1).str()));
        // Writing the decoded text again gives the same JSON: nothing else was altered.
        REQUIRE(JsonObject().add("v", decoded).str() == JsonObject().add("v", in).str());
    }
}

TEST_CASE("log timestamps are RFC 3339 UTC with milliseconds", "[core][json]") {
    std::string ts = sluice::log::timestamp_now();
    REQUIRE(ts.size() == 24);
    CHECK(ts[4] == '-');
    CHECK(ts[10] == 'T');
    CHECK(ts[19] == '.');
    CHECK(ts[23] == 'Z');
}
