// What a payload must be to become an SSE event: at most max_event_size bytes, no NUL,
// valid UTF-8 (SSE is UTF-8 text); and what its event name must be (one short line of
// UTF-8 text, not sluice's own "gap"). The one place these rules live: applied to live
// messages from Redis, to events read back from Redis history and to the HTTP publish
// endpoint's bodies alike, so a bad event is never stored or delivered either way.
#pragma once

#include <cstdint>
#include <string_view>

#include "gateway/broker/counters.h"

namespace sluice::broker {

enum class PayloadProblem { None, TooLarge, Nul, InvalidUtf8, BadEventName };

PayloadProblem check_payload(std::string_view payload, uint64_t max_event_size);
// Why `name` cannot name an event ("" when it can; "" is the default "message").
std::string_view event_name_problem(std::string_view name);
// Both rules: the payload's, then the event name's (BadEventName).
PayloadProblem check_event(std::string_view payload, std::string_view event_name,
                           uint64_t max_event_size);
const char* describe(PayloadProblem p);
// Adds one to the matching sluice_broker_messages_dropped_total series.
void count_drop(BrokerCounters& counters, PayloadProblem p);

}  // namespace sluice::broker
