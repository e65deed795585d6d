// A long-poll held on a channel (docs/protocol.md): answered by the next event or
// when its wait expires. Owned by the Connection while it is in the Waiting state.
#pragma once

#include <cstdint>
#include <optional>

#include "gateway/config/config.h"
#include "gateway/sse/channel.h"

namespace sluice::app {

class Connection;

// Builds the poll response body for events after `position` in the channel's history.
// Returns the body and whether it carries at least one event (or a gap / done).
struct PollAnswer {
    std::string body;
    bool has_news = false;
};
// `older`, when given, holds events before the local history read from the broker's
// history (positions in the resume gap, oldest first).
// `gaps_allowed` false (the broker is away): an answer that would begin with a gap is
// answered empty instead, since the broker may still hold those events.
PollAnswer build_poll_answer(const sse::Channel& channel, const config::PollRoute& route,
                             std::optional<uint64_t> position,
                             const std::vector<history::StoredEvent>* older = nullptr,
                             bool gaps_allowed = true);
// {"events":[],"position":position,"done":done}; has_news only when done.
PollAnswer empty_poll_answer(uint64_t position, bool done = false);

class PollWaiter final : public sse::Subscriber {
  public:
    PollWaiter(Connection& conn, sse::Channel& channel, const config::PollRoute& route,
               std::optional<uint64_t> position);
    ~PollWaiter();

    void on_channel_event(sse::Channel& channel, const history::StoredEvent& ev) override;
    void on_timeout();

  private:
    Connection& conn_;
    sse::Channel* channel_;
    const config::PollRoute& route_;
    std::optional<uint64_t> position_;
};

}  // namespace sluice::app
