// Fuzz target: what sluice reads back from Redis in sequenced mode, the bytes anyone with
// access to Redis can PUBLISH or XADD: the envelope decoder (broker::parse_envelope) and
// the XRANGE reply reader (broker::parse_xrange_reply), plus the payload rules both feed.
//
// Input byte 0 picks the part:
//  0: raw bytes as a published message. A decoded envelope has a position in 1..2^64-2
//     (2^64-1 would leave no next position: the resume decision computes head + 1), an
//     event name without CR, LF or NUL, the message's tail as payload, and encodes back to
//     bytes that decode to the same envelope.
//  1: an envelope built from parts (position, event, payload) decodes to those parts.
//  2: a reply tree (arrays, strings, integers, nil) built from the bytes: the reader skips
//     what is malformed and returns only entries with a usable position, in reply order.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "gateway/broker/payload_rules.h"
#include "gateway/broker/redis_functions.h"
#include "gateway/core/position.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::broker;

// Positions are 1..sluice::kMaxPosition (2^53-1, gateway/core/position.h) wherever they
// enter: the decoder must refuse everything else.
using sluice::kMaxPosition;

void check_raw(std::string_view message) {
    auto env = parse_envelope(message);
    if (!env) return;
    FUZZ_CHECK(looks_like_envelope(message));
    FUZZ_CHECK(env->position >= 1 && env->position <= kMaxPosition);
    FUZZ_CHECK(env->event.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    FUZZ_CHECK(message.size() >= env->payload.size() &&
               message.substr(message.size() - env->payload.size()) == env->payload);
    auto again = parse_envelope(build_envelope(env->position, env->event, env->payload));
    FUZZ_CHECK(again && again->position == env->position && again->event == env->event &&
               again->payload == env->payload);
    (void)check_payload(env->payload, 1024);  // must not crash on any bytes
}

void check_round_trip(FuzzedDataProvider& in) {
    uint64_t position = in.ConsumeIntegralInRange<uint64_t>(1, kMaxPosition);
    std::string event = in.ConsumeRandomLengthString(40);
    std::string payload = in.ConsumeRemainingBytesAsString();
    bool name_ok = event.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
    auto env = parse_envelope(build_envelope(position, event, payload));
    // The Lua function refuses names with NUL, CR or LF; anything else must survive.
    if (!name_ok) return;
    FUZZ_CHECK(env && env->position == position && env->event == event &&
               env->payload == payload);
}

RedisValue make_value(FuzzedDataProvider& in, int depth) {
    RedisValue v;
    int type = in.ConsumeIntegralInRange<int>(0, depth > 0 ? 5 : 4);
    switch (type) {
    case 0: v.type = RedisValue::Type::Nil; break;
    case 1:
        v.type = RedisValue::Type::Integer;
        v.integer = in.ConsumeIntegral<long long>();
        break;
    case 2:
    case 3:
        v.type = RedisValue::Type::String;
        v.str = in.ConsumeRandomLengthString(32);
        break;
    case 4:
        v.type = RedisValue::Type::Error;
        v.str = in.ConsumeRandomLengthString(16);
        break;
    default: {
        v.type = RedisValue::Type::Array;
        int n = in.ConsumeIntegralInRange<int>(0, 6);
        for (int i = 0; i < n && in.remaining_bytes() > 0; ++i) {
            v.elements.push_back(make_value(in, depth - 1));
        }
    }
    }
    return v;
}

void check_xrange(FuzzedDataProvider& in) {
    RedisValue reply = make_value(in, 4);
    auto entries = parse_xrange_reply(reply);
    FUZZ_CHECK(entries.size() <= reply.elements.size());
    for (const auto& e : entries) FUZZ_CHECK(e.position >= 1 && e.position <= kMaxPosition);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t part = data[0] % 3;
    FuzzedDataProvider in(data + 1, size - 1);
    if (part == 0) {
        check_raw(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    } else if (part == 1) {
        check_round_trip(in);
    } else {
        check_xrange(in);
    }
    return 0;
}
