// The resume decision. Kept as a literal transcription of the five rules in resume.h, in
// the same order, so the header is the specification and this file can be checked by eye.
#include "gateway/sse/resume.h"

namespace sluice::sse {

ResumeDecision decide_resume(const ResumeRequest& req, const ChannelWindow& window) {
    ResumeDecision d;
    // 1. The channel ended at T and the client already has T: tell EventSource to stop.
    //    This precedes the gap rule (docs/protocol.md).
    if (window.terminal && req.position && *req.position >= *window.terminal) {
        d.action = ResumeDecision::Action::NoContent;
        return d;
    }
    // 2. No position: the route's start mode.
    if (!req.position) {
        d.next = req.start == Start::Earliest ? window.oldest : window.head + 1;
        return d;
    }
    const uint64_t n = *req.position;
    // 3. The client claims more than the channel has: its positions started over (the
    //    broker lost the channel, or its head expired after positions_ttl). What the
    //    client counted is void; it gets the new history from the oldest held event, so
    //    the new 1..head are not skipped (issue 8).
    if (n > window.head) {
        d.gap = Gap{1, n, true};
        d.next = window.oldest;
        return d;
    }
    // 4. History no longer holds N+1 .. oldest-1. Written as n < oldest - 1 so that a huge
    //    N cannot wrap around.
    if (window.oldest > 0 && n < window.oldest - 1) {
        d.gap = Gap{n + 1, window.oldest - 1};
        d.next = window.oldest;
        return d;
    }
    // 5. Everything after N is held (or nothing after N exists yet).
    d.next = n + 1;
    return d;
}

}  // namespace sluice::sse
