// The resume decision (SPEC.md section 5): where a new stream or poll starts, and which
// gap (if any) it must report first. A pure function of the request and the channel's
// window, unit-tested case by case.
#pragma once

#include <cstdint>
#include <optional>

namespace sluice::sse {

struct ChannelWindow {
    uint64_t head = 0;    // last position ever assigned on the channel (0 = none); at
                          // most 2^64-2 (broker::parse_envelope caps), so head + 1 exists
    uint64_t oldest = 1;  // oldest position history still holds; head + 1 when empty
    std::optional<uint64_t> terminal;  // position of a terminal event that is the head
};

enum class Start { Earliest, Latest };

struct ResumeRequest {
    std::optional<uint64_t> position;  // ?position=N or Last-Event-ID ("I have up to N")
    Start start = Start::Earliest;     // used only when position is absent
};

struct Gap {
    uint64_t from = 0;
    uint64_t to = 0;
    bool operator==(const Gap&) const = default;
};

struct ResumeDecision {
    enum class Action { Stream, NoContent };  // NoContent = 204, channel ended
    Action action = Action::Stream;
    std::optional<Gap> gap;  // report first, when set
    uint64_t next = 1;       // first position to send
};

// Rules, in order:
// 1. terminal T set and position N >= T           -> NoContent.
// 2. no position: Earliest -> next = oldest (no gap); Latest -> next = head + 1.
// 3. N > head                                     -> gap {head+1, N}, next = head + 1.
// 4. N + 1 < oldest                               -> gap {N+1, oldest-1}, next = oldest.
// 5. otherwise                                    -> next = N + 1.
ResumeDecision decide_resume(const ResumeRequest& req, const ChannelWindow& window);

}  // namespace sluice::sse
