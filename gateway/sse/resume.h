// The resume decision (docs/protocol.md): where a new stream or poll starts, and which
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

// Two kinds: positions the channel had but history no longer holds ({N+1, M-1}), and a
// reset ({1, N}, reset): the channel's positions started over below what the client
// counted, so everything it counted is void and it starts again from the new history.
struct Gap {
    uint64_t from = 0;
    uint64_t to = 0;
    bool reset = false;
    bool operator==(const Gap&) const = default;
};

struct ResumeDecision {
    enum class Action { Stream, NoContent };  // NoContent = 204, channel ended
    Action action = Action::Stream;
    std::optional<Gap> gap;  // report first, when set
    uint64_t next = 1;       // first position to send
};

// Positions (N, head, oldest) are at most kMaxPosition (core/position.h), so N + 1 and
// head + 1 cannot wrap. Rules, in order:
// 1. terminal T set and position N >= T           -> NoContent.
// 2. no position: Earliest -> next = oldest (no gap); Latest -> next = head + 1.
// 3. N > head (positions started over)            -> reset gap {1, N}, next = oldest.
// 4. N + 1 < oldest                               -> gap {N+1, oldest-1}, next = oldest.
// 5. otherwise                                    -> next = N + 1.
ResumeDecision decide_resume(const ResumeRequest& req, const ChannelWindow& window);

}  // namespace sluice::sse
