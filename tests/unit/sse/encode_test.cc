// SSE framing: line splitting, event names, fixed frames, the EventSource-side data
// reconstruction, and payload_type.
#include <catch2/catch.hpp>

#include <random>

#include "gateway/sse/encode.h"

using namespace sluice::sse;

namespace {

// What EventSource hands to the page: CRLF and CR become LF.
std::string normalise_newlines(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            out += '\n';
            if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

TEST_CASE("encode_event frames a one-line payload", "[sse]") {
    CHECK(encode_event(1, "", R"({"type":"chunk"})") == "id: 1\ndata: {\"type\":\"chunk\"}\n\n");
    CHECK(encode_event(18446744073709551615ull, "", "x") ==
          "id: 18446744073709551615\ndata: x\n\n");
}

TEST_CASE("encode_event splits payload lines on LF, CRLF and CR", "[sse]") {
    CHECK(encode_event(2, "", "a\nb") == "id: 2\ndata: a\ndata: b\n\n");
    CHECK(encode_event(2, "", "a\r\nb") == "id: 2\ndata: a\ndata: b\n\n");
    CHECK(encode_event(2, "", "a\rb") == "id: 2\ndata: a\ndata: b\n\n");
    CHECK(encode_event(2, "", "a\n\rb") == "id: 2\ndata: a\ndata: \ndata: b\n\n");
    CHECK(encode_event(2, "", "a\r\r\nb") == "id: 2\ndata: a\ndata: \ndata: b\n\n");
}

TEST_CASE("encode_event edge payloads", "[sse]") {
    CHECK(encode_event(3, "", "") == "id: 3\ndata: \n\n");
    CHECK(encode_event(3, "", "a\n") == "id: 3\ndata: a\ndata: \n\n");
    CHECK(encode_event(3, "", "\r\n") == "id: 3\ndata: \ndata: \n\n");
    CHECK(encode_event(3, "", " x") == "id: 3\ndata:  x\n\n");
    CHECK(encode_event(3, "", "a\n  b") == "id: 3\ndata: a\ndata:   b\n\n");
}

TEST_CASE("encode_event writes the event name only when set, without CR/LF", "[sse]") {
    CHECK(encode_event(4, "update", "x") == "id: 4\nevent: update\ndata: x\n\n");
    CHECK(encode_event(4, "up\r\ndate\n", "x") == "id: 4\nevent: update\ndata: x\n\n");
    CHECK(encode_event(4, "\r\n", "x") == "id: 4\ndata: x\n\n");
}

TEST_CASE("encode_event sizes its buffer once, exactly", "[sse]") {
    // Growing by appends would leave slack of up to the string's size; one exact reserve
    // leaves at most the allocator's rounding.
    std::string many_lines;
    for (int i = 0; i < 1000; ++i) many_lines += (i % 3 == 0) ? "line\r\n" : "l\n";
    for (const std::string& p : {std::string(5000, 'a'), many_lines, std::string(777, '\r')}) {
        std::string out = encode_event(123, "ev\n", p);
        CHECK(out.capacity() - out.size() < 16);
    }
}

TEST_CASE("fixed SSE frames", "[sse]") {
    CHECK(encode_gap(5, 9) == "event: gap\ndata: {\"from\":5,\"to\":9}\n\n");
    CHECK(encode_gap(1, 9, true) ==
          "event: gap\ndata: {\"from\":1,\"to\":9,\"reset\":true}\n\n");
    CHECK(encode_heartbeat_comment() == ": heartbeat\n\n");
    CHECK(encode_heartbeat_data() == "data: {\"type\":\"heartbeat\"}\n\n");
    CHECK(encode_retry(2000) == "retry: 2000\n\n");
}

TEST_CASE("event_data_from_encoded follows the EventSource data rules", "[sse]") {
    CHECK(event_data_from_encoded("id: 1\ndata: x\n\n") == "x");
    CHECK(event_data_from_encoded("data:x\n\n") == "x");
    CHECK(event_data_from_encoded("data:  x\n\n") == " x");
    CHECK(event_data_from_encoded("data\n\n") == "");
    CHECK(event_data_from_encoded("data: a\r\ndata: b\rdata: c\n\n") == "a\nb\nc");
    CHECK(event_data_from_encoded(": comment\nevent: e\nid: 3\ndata: a\n\n") == "a");
    CHECK(event_data_from_encoded("data: a\ndatax: b\nDATA: c\n\n") == "a");
    CHECK(event_data_from_encoded("\n\ndata: first\n\ndata: second\n\n") == "first");
    CHECK(event_data_from_encoded("event: gap\ndata: {\"from\":1,\"to\":2}\n\n") ==
          "{\"from\":1,\"to\":2}");
    CHECK(event_data_from_encoded(encode_heartbeat_data()) == "{\"type\":\"heartbeat\"}");
}

TEST_CASE("event_data_from_encoded inverts encode_event for the payloads it names", "[sse]") {
    const std::vector<std::string> payloads = {
        "",
        "x",
        " x",
        "  leading",
        "trailing ",
        "a\nb",
        "a\r\nb",
        "a\rb",
        "a\n",
        "\n",
        "\r\n",
        "\r",
        "\n\n",
        "\r\r\n\n",
        "a\r\n\r\nb",
        "a\n\rb",
        " \n \r\n ",
        "data: nested\n\nid: 9",
        ": not a comment",
        "caf\xc3\xa9 \xe2\x9c\x93\n\xf0\x9f\x98\x80",
        R"({"type":"chunk","text":"Hel\nlo"})",
    };
    for (const auto& p : payloads) {
        INFO("payload: " << p);
        CHECK(event_data_from_encoded(encode_event(1, "", p)) == normalise_newlines(p));
        CHECK(event_data_from_encoded(encode_event(7, "name", p)) == normalise_newlines(p));
    }
}

TEST_CASE("encode/decode round trip on random payloads", "[sse]") {
    std::mt19937 rng(12345);
    const std::string alphabet[] = {"a", " ", "\n", "\r", "\r\n", ":", "\xc3\xa9", "\xe2\x82\xac",
                                    "data: ", "{", "\"", "\t"};
    std::uniform_int_distribution<size_t> pick(0, std::size(alphabet) - 1);
    std::uniform_int_distribution<int> len(0, 24);
    for (int round = 0; round < 2000; ++round) {
        std::string p;
        for (int n = len(rng); n > 0; --n) p += alphabet[pick(rng)];
        INFO("payload: " << p);
        REQUIRE(event_data_from_encoded(encode_event(round, "", p)) == normalise_newlines(p));
    }
}

TEST_CASE("payload_type reads a top-level string type", "[sse]") {
    CHECK(payload_type(R"({"type":"done"})") == std::optional<std::string>("done"));
    CHECK(payload_type(" \n\t{\"a\":1,\"type\":\"chunk\"}") == std::optional<std::string>("chunk"));
    CHECK(payload_type(R"({"type":""})") == std::optional<std::string>(""));
}

TEST_CASE("payload_type is nullopt for anything else", "[sse]") {
    CHECK_FALSE(payload_type(""));
    CHECK_FALSE(payload_type("   "));
    CHECK_FALSE(payload_type("done"));
    CHECK_FALSE(payload_type(R"(["type","done"])"));
    CHECK_FALSE(payload_type(R"("done")"));
    CHECK_FALSE(payload_type(R"({"type":1})"));
    CHECK_FALSE(payload_type(R"({"type":null})"));
    CHECK_FALSE(payload_type(R"({"type":{"x":"done"}})"));
    CHECK_FALSE(payload_type(R"({"kind":"done"})"));
    CHECK_FALSE(payload_type(R"({"inner":{"type":"done"}})"));
    CHECK_FALSE(payload_type(R"({"type":"done")"));         // truncated
    CHECK_FALSE(payload_type(R"({"type":"done"} trailing)"));
    CHECK_FALSE(payload_type("{\"type\":\"\xff\"}"));        // invalid UTF-8
    CHECK_FALSE(payload_type(std::string(100000, '{')));   // deep garbage, no throw
}
