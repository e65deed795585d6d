#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "gateway/sse/json_type.h"

using sluice::sse::json_top_level_type;

namespace {

// The reference: a full parse with nlohmann/json (what sluice used before the scanner).
std::optional<std::string> reference(const std::string& payload) {
    auto doc = nlohmann::json::parse(payload, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
    auto it = doc.find("type");
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace

TEST_CASE("the top-level type of JSON payloads", "[sse][json]") {
    CHECK(json_top_level_type(R"({"type":"done"})") == std::optional<std::string>("done"));
    CHECK(json_top_level_type(R"(  {"text":"x","type" : "chunk" , "n":[1,{"type":"inner"}]}  )") ==
          std::optional<std::string>("chunk"));
    CHECK(json_top_level_type(R"({"type":"d\u006fne"})") == std::optional<std::string>("done"));
    CHECK(json_top_level_type(R"({"type":"\ud83d\ude00"})") == std::optional<std::string>("\xF0\x9F\x98\x80"));
    CHECK(json_top_level_type(R"({"type":"a","type":"b"})") == std::optional<std::string>("b"));
    CHECK_FALSE(json_top_level_type(R"({"type":"a","type":1})"));
    CHECK_FALSE(json_top_level_type(R"({"type":1})"));
    CHECK_FALSE(json_top_level_type(R"({"inner":{"type":"done"}})"));
    CHECK_FALSE(json_top_level_type(R"(["type","done"])"));
    CHECK_FALSE(json_top_level_type(R"({"type":"done"} x)"));
    CHECK_FALSE(json_top_level_type(R"({"type":"done",})"));
    CHECK_FALSE(json_top_level_type(R"({"type":"done")"));
    CHECK_FALSE(json_top_level_type("{\"type\":\"do\nne\"}"));
    CHECK_FALSE(json_top_level_type("{\"type\":\"\xff\"}"));
    CHECK_FALSE(json_top_level_type(R"({"type":"\ud83d"})"));
    CHECK_FALSE(json_top_level_type(R"({"n":01,"type":"x"})"));
    CHECK_FALSE(json_top_level_type("plain text"));
    CHECK_FALSE(json_top_level_type(""));
    CHECK_FALSE(json_top_level_type(std::string(100000, '{')));
}

TEST_CASE("the scanner agrees with a full JSON parse", "[sse][json]") {
    // Mutations of valid payloads: every answer must match nlohmann/json's.
    std::vector<std::string> seeds = {
        R"({"type":"chunk","text":"Hel","n":1.5e3,"ok":true,"z":null,"a":[1,-2,{"b":"c"}]})",
        R"({"type":"done"})",
        R"({ "meta": {"type": "x"}, "type": "error", "message": "boom \"quoted\" \\ \/" })",
        R"({"type":"\u00e9t\u00e9","list":[[],{},"",0,-0.5E-2]})",
        R"({"text":"no type here"})",
    };
    const std::string alphabet = "{}[]\":,\\ utrefalsn0123456789.-+eE\x01\xc3\xa9xyz";
    std::mt19937 rng(12345);
    int checked = 0;
    for (const auto& seed : seeds) {
        CHECK(json_top_level_type(seed) == reference(seed));
        for (int round = 0; round < 3000; ++round) {
            std::string s = seed;
            int edits = 1 + static_cast<int>(rng() % 3);
            for (int e = 0; e < edits && !s.empty(); ++e) {
                size_t pos = rng() % s.size();
                char c = alphabet[rng() % alphabet.size()];
                switch (rng() % 3) {
                case 0: s[pos] = c; break;
                case 1: s.insert(s.begin() + static_cast<long>(pos), c); break;
                default: s.erase(pos, 1); break;
                }
            }
            INFO(s);
            CHECK(json_top_level_type(s) == reference(s));
            ++checked;
        }
    }
    CHECK(checked == 15000);
}
