// Sequenced channels: a client claims position N above this loop's head. That is not
// necessarily a gap or a reset: the client may have received N from another instance
// before this loop received it from Redis pub/sub. The broker's history decides: if it
// holds N, the loop is only behind, and the stream continues after N (nothing to
// report, nothing to send twice). Pure: the caller reads N from the broker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/history/channel_history.h"
#include "gateway/sse/resume.h"

namespace sluice::sse {

// `held_at_n`: what the broker's history returned for positions N..N. Returns the
// decision when it holds N (NoContent if N ended the channel, else next = N + 1 and no
// gap); nullopt when it does not hold N, and the usual rules apply.
std::optional<ResumeDecision> resume_when_loop_behind(uint64_t n,
                                                      const std::vector<history::StoredEvent>& held_at_n,
                                                      const std::vector<std::string>& terminal);

}  // namespace sluice::sse
