// The Responder of an sse route: carries one sse::SseStream over a pipeline::Request.
// The stream writes through it (it is the stream's StreamSink) and the request tells the
// stream when the client drained, when the server shuts down and when the client left.
#pragma once

#include "gateway/admin/metrics.h"
#include <optional>

#include "gateway/pipeline/filter.h"
#include "gateway/pipeline/request.h"
#include "gateway/sse/sse_stream.h"

namespace sluice::app {

class SseResponder final : public pipeline::Responder, public sse::StreamSink {
  public:
    // `filters`: the route's chain; its event filters (if any) see every event first.
    SseResponder(pipeline::Request& req, TimerWheel& wheel, sse::StreamCounters& counters,
                 sse::StreamSettings settings, const pipeline::FilterChain& filters,
                 admin::WorkerMetrics& metrics);

    sse::SseStream& stream() { return stream_; }

    // sse::StreamSink
    void send(SharedBytes bytes) override { req_.write(std::move(bytes)); }
    void send(std::string bytes) override { req_.write(std::move(bytes)); }
    uint64_t unsent_bytes() const override { return req_.unsent_bytes(); }
    uint64_t refused_bytes() const override { return req_.refused_bytes(); }
    void flush_and_close(sse::CloseReason why) override { req_.close(pipeline::CloseMode::Flush, why); }
    void close_now(sse::CloseReason why) override { req_.close(pipeline::CloseMode::Abort, why); }
    uint64_t now_ms() const override { return req_.now_ms(); }

    // pipeline::Responder
    void on_low_water() override { stream_.on_low_water(); }
    void on_shutdown() override;
    void on_close() noexcept override;
    uint64_t events_sent() const override { return stream_.events_sent(); }

  private:
    static sse::StreamSettings with_filter(sse::StreamSettings s, const sse::EventFilter* f) {
        s.filter = f;
        return s;
    }

    pipeline::Request& req_;
    uint64_t retry_ms_;  // the route's retry: the base of the hint sent on shutdown
    std::optional<pipeline::RequestEventFilter> filter_;  // before stream_: it outlives it
    sse::SseStream stream_;
    admin::WorkerMetrics& metrics_;
    bool open_ = true;
};

}  // namespace sluice::app
