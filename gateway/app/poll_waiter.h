// A long-poll held on a channel (docs/protocol.md): answered by the next event, when its
// wait expires, or at once when the server shuts down. The Responder of a waiting poll.
#pragma once

#include <cstdint>
#include <optional>

#include "gateway/admin/metrics.h"
#include "gateway/config/config.h"
#include "gateway/pipeline/request.h"
#include "gateway/sse/channel.h"

namespace sluice::app {

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

class PollWaiter final : public sse::Subscriber, public pipeline::Responder {
  public:
    PollWaiter(pipeline::Request& req, sse::Channel& channel, const config::PollRoute& route,
               std::optional<uint64_t> position, admin::WorkerMetrics& metrics);
    ~PollWaiter();

    // sse::Subscriber
    void on_channel_event(sse::Channel& channel, const history::StoredEvent& ev) override;

    // pipeline::Responder
    bool on_wait_expired() override;
    void on_shutdown() override { on_wait_expired(); }
    void on_close() noexcept override { stop_waiting(); }

  private:
    void answer(const std::string& body);
    void stop_waiting() noexcept;

    pipeline::Request& req_;
    admin::WorkerMetrics& metrics_;
    sse::Channel* channel_;
    const config::PollRoute& route_;
    std::optional<uint64_t> position_;
};

}  // namespace sluice::app
