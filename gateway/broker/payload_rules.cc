#include "gateway/broker/payload_rules.h"

#include "gateway/core/utf8.h"

namespace sluice::broker {

PayloadProblem check_payload(std::string_view payload, uint64_t max_event_size) {
    if (payload.size() > max_event_size) return PayloadProblem::TooLarge;
    if (payload.find('\0') != std::string_view::npos) return PayloadProblem::Nul;
    if (!valid_utf8(payload)) return PayloadProblem::InvalidUtf8;
    return PayloadProblem::None;
}

const char* describe(PayloadProblem p) {
    switch (p) {
    case PayloadProblem::None: return "ok";
    case PayloadProblem::TooLarge: return "payload larger than limits.max_event_size";
    case PayloadProblem::Nul: return "payload contains a NUL byte";
    case PayloadProblem::InvalidUtf8: return "payload is not valid UTF-8";
    }
    return "?";
}

void count_drop(BrokerCounters& counters, PayloadProblem p) {
    switch (p) {
    case PayloadProblem::None: break;
    case PayloadProblem::TooLarge: counters.dropped_too_large.add(1); break;
    case PayloadProblem::Nul: counters.dropped_nul.add(1); break;
    case PayloadProblem::InvalidUtf8: counters.dropped_invalid_utf8.add(1); break;
    }
}

}  // namespace sluice::broker
