// The Redis function library text, the envelope codec and the history argv / reply
// helpers (pure; the live behaviour against redis-server is in redis_link_test.cc).
#include <catch2/catch.hpp>

#include <limits>

#include "gateway/broker/redis_functions.h"

using namespace sluice::broker;
using namespace std::chrono_literals;

namespace {

RedisValue str(std::string s) {
    RedisValue v;
    v.type = RedisValue::Type::String;
    v.str = std::move(s);
    return v;
}

RedisValue arr(std::vector<RedisValue> items) {
    RedisValue v;
    v.type = RedisValue::Type::Array;
    v.elements = std::move(items);
    return v;
}

RedisValue entry(std::string id, std::vector<std::string> fields) {
    std::vector<RedisValue> f;
    for (auto& s : fields) f.push_back(str(s));
    return arr({str(std::move(id)), arr(std::move(f))});
}

}  // namespace

TEST_CASE("the function library names itself sluice and bakes in its settings",
          "[broker][redis_functions]") {
    std::string lib = sluice_function_library("app:", 250, 90s, 24h);
    CHECK(lib.rfind("#!lua name=sluice\n", 0) == 0);
    CHECK(lib.find("function_name = 'sluice_publish'") != std::string::npos);
    CHECK(lib.find("local prefix = 'app:'") != std::string::npos);
    CHECK(lib.find("local history_size = '250'") != std::string::npos);
    CHECK(lib.find("local ttl_ms = '90000'") != std::string::npos);
    CHECK(lib.find("local positions_ttl_ms = '86400000'") != std::string::npos);
    CHECK(lib.find("redis.call('PEXPIRE', seq_key, positions_ttl_ms)") != std::string::npos);
    CHECK(lib.find("redis.call('PEXPIRE', log_key, ttl_ms)") != std::string::npos);
    CHECK(lib.find("redis.call('PUBLISH', prefix .. 'seq:' .. channel,") != std::string::npos);
    CHECK(lib.find("no-writes") == std::string::npos);
}

TEST_CASE("the key prefix is quoted safely into the Lua source", "[broker][redis_functions]") {
    std::string lib = sluice_function_library(std::string("a'b\\c\n\0", 7), 1, 1s, 1s);
    CHECK(lib.find("local prefix = 'a\\039b\\092c\\010\\000'") != std::string::npos);
    CHECK(sluice_function_library("p", 1, -5s, 1s).find("local ttl_ms = '0'") != std::string::npos);
}

TEST_CASE("the counter never expires before the log, and huge ttls are capped",
          "[broker][redis_functions]") {
    // positions_ttl below ttl is raised to ttl; no expiry for the log means none for
    // the counter either.
    CHECK(sluice_function_library("p", 1, 10s, 1s).find("local positions_ttl_ms = '10000'") !=
          std::string::npos);
    CHECK(sluice_function_library("p", 1, 0s, 1s).find("local positions_ttl_ms = '0'") !=
          std::string::npos);
    // A century at most: Redis refuses a PEXPIRE past its clock's range.
    auto huge = std::chrono::hours(24LL * 365 * 1000000);
    CHECK(sluice_function_library("p", 1, huge, huge).find("local ttl_ms = '3153600000000'") !=
          std::string::npos);
}

TEST_CASE("sequenced events have their own channel namespace", "[broker][redis_functions]") {
    CHECK(sequenced_channel("sluice:", "analysis:42") == "sluice:seq:analysis:42");
    CHECK(sequenced_pattern("sluice:", "analysis:*") == "sluice:seq:analysis:*");
    // Glob characters in the prefix are literal in the pattern.
    CHECK(sequenced_pattern("a*b?[c]\\:", "x:*") == "a\\*b\\?\\[c\\]\\\\:seq:x:*");
}

TEST_CASE("positions from Redis above 2^53-1 are refused", "[broker][redis_functions]") {
    CHECK(parse_envelope(build_envelope(9007199254740991ULL, "", "p"))->position ==
          9007199254740991ULL);
    CHECK_FALSE(parse_envelope(build_envelope(9007199254740992ULL, "", "p")));
    CHECK_FALSE(parse_envelope(build_envelope(9223372036854775808ULL, "", "p")));
    CHECK_FALSE(parse_envelope(build_envelope(UINT64_MAX, "", "p")));
    RedisValue seq;
    seq.type = RedisValue::Type::String;
    seq.str = "9007199254740991";
    CHECK(parse_seq_reply(seq) == 9007199254740991ULL);
    seq.str = "9007199254740992";
    CHECK_FALSE(parse_seq_reply(seq));
    seq.str = "18446744073709551615";
    CHECK_FALSE(parse_seq_reply(seq));
    seq.str = "12abc";
    CHECK_FALSE(parse_seq_reply(seq));
    CHECK(parse_seq_reply(RedisValue{}) == 0u);  // no key: a channel Redis never saw
    RedisValue entries = arr({entry("9007199254740991-0", {"p", "max"}),
                              entry("9007199254740992-0", {"p", "over"})});
    auto parsed = parse_xrange_reply(entries);
    REQUIRE(parsed.size() == 1);
    CHECK(parsed[0].payload == "max");
}

TEST_CASE("seq and log keys carry the channel as hash tag", "[broker][redis_functions]") {
    CHECK(seq_key("sluice:", "analysis:42") == "sluice:{analysis:42}:seq");
    CHECK(log_key("sluice:", "analysis:42") == "sluice:{analysis:42}:log");
}

TEST_CASE("envelope round trip, payload with NUL and newlines", "[broker][redis_functions]") {
    std::string payload("a\0b\nc\0\0", 7);
    std::string msg = build_envelope(42, "chunk", payload);
    CHECK(msg.rfind(envelope_prefix(), 0) == 0);
    CHECK(envelope_prefix() == std::string("\0sluice1\0", 9));
    CHECK(looks_like_envelope(msg));
    auto env = parse_envelope(msg);
    REQUIRE(env);
    CHECK(env->position == 42);
    CHECK(env->event == "chunk");
    CHECK(env->payload == payload);

    auto plain = parse_envelope(build_envelope(1, "", ""));
    REQUIRE(plain);
    CHECK(plain->position == 1);
    CHECK(plain->event.empty());
    CHECK(plain->payload.empty());

    // The largest position; anything above is refused (issue 8).
    auto big = parse_envelope(build_envelope(9007199254740991ULL, "e", "{}"));
    REQUIRE(big);
    CHECK(big->position == 9007199254740991ULL);
    CHECK_FALSE(parse_envelope(build_envelope(std::numeric_limits<uint64_t>::max(), "e", "{}")));
}

TEST_CASE("plain payloads do not look like envelopes", "[broker][redis_functions]") {
    CHECK_FALSE(looks_like_envelope(R"({"type":"chunk"})"));
    CHECK_FALSE(looks_like_envelope(""));
    CHECK_FALSE(looks_like_envelope(std::string("\0sluice1", 8)));
    CHECK_FALSE(looks_like_envelope(std::string("\0sluice2\0" "1\0\0x", 13)));
    CHECK_FALSE(parse_envelope("hello").has_value());
}

TEST_CASE("malformed envelopes are rejected", "[broker][redis_functions]") {
    const std::string p = envelope_prefix();
    for (const std::string& bad : {
             p,                                          // nothing after the prefix
             p + "12",                                   // no separator after position
             p + std::string("12\0ev", 5),               // no separator after event
             p + std::string("\0ev\0x", 5),              // empty position
             p + std::string("0\0\0x", 4),               // position 0
             p + std::string("-1\0\0x", 5),              // sign
             p + std::string("+1\0\0x", 5),              // sign
             p + std::string("1x\0\0x", 5),              // not a number
             p + std::string("18446744073709551616\0\0x", 23),  // 2^64
             p + std::string("1\0a\nb\0x", 7),           // LF in the event name
             p + std::string("1\0a\rb\0x", 7),           // CR in the event name
         }) {
        INFO("bytes: " << bad.size());
        CHECK(looks_like_envelope(bad));
        CHECK_FALSE(parse_envelope(bad).has_value());
    }
}

TEST_CASE("command argv builders", "[broker][redis_functions]") {
    using V = std::vector<std::string>;
    CHECK(function_load_argv("LIB") == V{"FUNCTION", "LOAD", "REPLACE", "LIB"});
    CHECK(function_list_argv() == V{"FUNCTION", "LIST", "LIBRARYNAME", "sluice"});
    CHECK(fcall_publish_argv("c", "p", "") == V{"FCALL", "sluice_publish", "1", "c", "p"});
    CHECK(fcall_publish_argv("c", "p", "e") == V{"FCALL", "sluice_publish", "1", "c", "p", "e"});
    CHECK(xrange_argv("s:", "c", 5, 9, 100) ==
          V{"XRANGE", "s:{c}:log", "5-0", "9-0", "COUNT", "100"});
    CHECK(xrange_argv("s:", "c", 0, 0, 0) == V{"XRANGE", "s:{c}:log", "-", "+"});
    CHECK(xrange_argv("s:", "c", 3, std::numeric_limits<uint64_t>::max(), 0) ==
          V{"XRANGE", "s:{c}:log", "3-0", "+"});
}

TEST_CASE("parse_xrange_reply reads entries and skips malformed ones",
          "[broker][redis_functions]") {
    RedisValue reply = arr({
        entry("3-0", {"p", "three"}),
        entry("4-0", {"e", "chunk", "p", std::string("f\0ur", 4)}),
        entry("5-1", {"p", "bad seq"}),
        entry("x-0", {"p", "bad id"}),
        entry("0-0", {"p", "position 0"}),
        entry("6-0", {"e", "no payload"}),
        entry("7-0", {"p"}),
        str("not an entry"),
        entry("8-0", {"p", "eight", "x", "ignored"}),
    });
    auto entries = parse_xrange_reply(reply);
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].position == 3);
    CHECK(entries[0].event.empty());
    CHECK(entries[0].payload == "three");
    CHECK(entries[1].position == 4);
    CHECK(entries[1].event == "chunk");
    CHECK(entries[1].payload == std::string("f\0ur", 4));
    CHECK(entries[2].position == 8);
    CHECK(entries[2].payload == "eight");

    CHECK(parse_xrange_reply(RedisValue{}).empty());
    CHECK(parse_xrange_reply(RedisValue::error("ERR x")).empty());
    CHECK(parse_xrange_reply(arr({})).empty());
}

TEST_CASE("a counter below the hub's head is a restart still on its way") {
    CHECK_FALSE(restart_in_flight(7, 0));  // no counter: a plain channel
    CHECK_FALSE(restart_in_flight(3, 5));  // the hub is behind: events in flight
    CHECK_FALSE(restart_in_flight(5, 5));
    // The counter expired and started over at 1, 2; the hub still holds the old head 3.
    CHECK(restart_in_flight(3, 2));
}
