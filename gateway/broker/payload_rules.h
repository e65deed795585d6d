// What a payload must be to become an SSE event: at most max_event_size bytes, no NUL,
// valid UTF-8 (SSE is UTF-8 text). The one place these rules live: applied to live
// messages from Redis, to events read back from Redis history and to the HTTP publish
// endpoint's bodies alike, so a bad event is never stored or delivered either way.
#pragma once

#include <cstdint>
#include <string_view>

#include "gateway/broker/counters.h"

namespace sluice::broker {

enum class PayloadProblem { None, TooLarge, Nul, InvalidUtf8 };

PayloadProblem check_payload(std::string_view payload, uint64_t max_event_size);
const char* describe(PayloadProblem p);
// Adds one to the matching sluice_broker_messages_dropped_total series.
void count_drop(BrokerCounters& counters, PayloadProblem p);

}  // namespace sluice::broker
