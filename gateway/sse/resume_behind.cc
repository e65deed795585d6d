#include "gateway/sse/resume_behind.h"

#include "gateway/sse/channel.h"

namespace sluice::sse {

std::optional<ResumeDecision> resume_when_loop_behind(uint64_t n,
                                                      const std::vector<history::StoredEvent>& held_at_n,
                                                      const std::vector<std::string>& terminal) {
    for (const auto& ev : held_at_n) {
        if (ev.position != n) continue;
        ResumeDecision d;
        // The client has the terminal event already: the channel ended (204 comes before
        // any gap rule), although this loop has not received that event yet.
        if (is_terminal(terminal, ev.type)) {
            d.action = ResumeDecision::Action::NoContent;
            return d;
        }
        d.next = n + 1;  // events up to N reach this loop later and are skipped then
        return d;
    }
    return std::nullopt;
}

}  // namespace sluice::sse
