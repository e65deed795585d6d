#include "gateway/broker/payload_rules.h"

#include "gateway/core/utf8.h"

namespace sluice::broker {

PayloadProblem check_payload(std::string_view payload, uint64_t max_event_size) {
    if (payload.size() > max_event_size) return PayloadProblem::TooLarge;
    if (payload.find('\0') != std::string_view::npos) return PayloadProblem::Nul;
    if (!valid_utf8(payload)) return PayloadProblem::InvalidUtf8;
    return PayloadProblem::None;
}

std::string_view event_name_problem(std::string_view name) {
    // It goes out on an `event:` line and into poll JSON: one line of UTF-8 text. A raw
    // byte such as 0x85 would reach EventSource as-is while the JSON showed U+FFFD (#9);
    // a control character is no part of a name and only hides what a log line shows.
    if (name.size() > 128) return "event name longer than 128 bytes";
    // "gap" is what sluice itself sends for positions it cannot deliver.
    if (name == "gap") return "event name \"gap\" is reserved";
    for (char c : name)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return "event name contains a control character (CR, LF, NUL, ...)";
    if (!valid_utf8(name)) return "event name is not valid UTF-8";
    return {};
}

PayloadProblem check_event(std::string_view payload, std::string_view event_name,
                           uint64_t max_event_size) {
    PayloadProblem p = check_payload(payload, max_event_size);
    if (p != PayloadProblem::None) return p;
    return event_name_problem(event_name).empty() ? PayloadProblem::None : PayloadProblem::BadEventName;
}

const char* describe(PayloadProblem p) {
    switch (p) {
    case PayloadProblem::None: return "ok";
    case PayloadProblem::TooLarge: return "payload larger than limits.max_event_size";
    case PayloadProblem::Nul: return "payload contains a NUL byte";
    case PayloadProblem::InvalidUtf8: return "payload is not valid UTF-8";
    case PayloadProblem::BadEventName: return "event name is not allowed";
    }
    return "?";
}

void count_drop(BrokerCounters& counters, PayloadProblem p) {
    switch (p) {
    case PayloadProblem::None: break;
    case PayloadProblem::TooLarge: counters.dropped_too_large.add(1); break;
    case PayloadProblem::Nul: counters.dropped_nul.add(1); break;
    case PayloadProblem::InvalidUtf8: counters.dropped_invalid_utf8.add(1); break;
    case PayloadProblem::BadEventName: counters.dropped_bad_event_name.add(1); break;
    }
}

}  // namespace sluice::broker
