// A long-poll held on a channel (docs/protocol.md): answered by the next event, when its
// wait expires, or at once when the server shuts down. The Responder of a waiting poll.
#pragma once

#include <cstdint>
#include <optional>

#include "gateway/admin/metrics.h"
#include "gateway/sse/route_options.h"
#include "gateway/pipeline/filter.h"
#include "gateway/pipeline/request.h"
#include "gateway/sse/channel.h"
#include "gateway/sse/route_options.h"

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
// `filter`: the route's event filters bound to this client (null: none), which may drop
// or rewrite an event for it; a dropped event's position is passed over silently.
PollAnswer build_poll_answer(const sse::Channel& channel, const sse::PollRouteOptions& route,
                             std::optional<uint64_t> position,
                             const std::vector<history::StoredEvent>* older = nullptr,
                             bool gaps_allowed = true, const sse::EventFilter* filter = nullptr);

// A poll's event filter, shared by the handler's callbacks and its waiter.
using PollFilter = std::shared_ptr<const pipeline::RequestEventFilter>;
// {"events":[],"position":position,"done":done}; has_news only when done.
PollAnswer empty_poll_answer(uint64_t position, bool done = false);

class PollWaiter final : public sse::Subscriber, public pipeline::Responder {
  public:
    PollWaiter(pipeline::Request& req, sse::Channel& channel, const sse::PollRouteOptions& route,
               std::optional<uint64_t> position, admin::WorkerMetrics& metrics,
               PollFilter filter = nullptr);
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
    PollFilter filter_;
    sse::Channel* channel_;
    const sse::PollRouteOptions& route_;
    std::optional<uint64_t> position_;
};

}  // namespace sluice::app
