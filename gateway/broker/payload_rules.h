// What a payload from Redis must be to become an SSE event: at most max_event_size
// bytes, no NUL, valid UTF-8 (SSE is UTF-8 text). Applied to live messages and to events
// read back from Redis history alike, so a bad event is never delivered either way.
#pragma once

#include <cstdint>
#include <string_view>

#include "gateway/admin/metrics.h"

namespace sluice::broker {

enum class PayloadProblem { None, TooLarge, Nul, InvalidUtf8 };

PayloadProblem check_payload(std::string_view payload, uint64_t max_event_size);
const char* describe(PayloadProblem p);
// Adds one to the matching sluice_broker_messages_dropped_total series.
void count_drop(admin::BrokerMetrics& metrics, PayloadProblem p);

}  // namespace sluice::broker
