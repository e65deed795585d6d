#include "gateway/app/sse_responder.h"

#include "gateway/core/jitter.h"
#include "gateway/sse/encode.h"

namespace sluice::app {

SseResponder::SseResponder(pipeline::Request& req, TimerWheel& wheel,
                           sse::StreamCounters& counters, sse::StreamSettings settings,
                           const pipeline::FilterChain& filters, admin::WorkerMetrics& metrics)
    : req_(req),
      retry_ms_(static_cast<uint64_t>(settings.route->retry.count())),
      filter_(filters.filters_events() ? std::make_optional<pipeline::RequestEventFilter>(filters, req)
                                       : std::nullopt),
      stream_(*this, wheel, counters, with_filter(std::move(settings), filter_ ? &*filter_ : nullptr)),
      metrics_(metrics) {
    metrics_.sse_streams_open.add(1);
    metrics_.sse_streams_total.add(1);
}

void SseResponder::on_shutdown() {
    // A last comment, then the close: EventSource reconnects (to another instance) after
    // the retry hint: the route's retry plus up to as much again at random, so that
    // streams closed at the same instant do not all come back at the same instant.
    stream_.detach();
    req_.write(sse::encode_retry(retry_ms_ + random_below(retry_ms_ + 1)) +
               ": sluice is shutting down, reconnect\n\n");
    req_.close(pipeline::CloseMode::Flush, sse::CloseReason::Drain);
}

void SseResponder::on_close() noexcept {
    stream_.detach();
    if (open_) metrics_.sse_streams_open.add(-1);
    open_ = false;
}

}  // namespace sluice::app
