// One client TCP connection: reads requests with the HTTP parser, dispatches them,
// and writes responses. It becomes the sink of an SSE stream or holds a long-poll.
// Owned by itself once accepted: deleted only in the uv_close callback, after every
// write callback has run.
//
//   accept -> Reading --(request)--> respond --(keep-alive)--> Reading
//                 |                      \--(close)--> Finishing -> shutdown -> Closing
//                 +--> Waiting (long-poll) --(event or timeout)--> respond
//                 +--> Streaming (SSE) --(terminal/drain)--> Finishing; (slow/error) -> Closing
//                 +--> Exchanging (proxy, static file) --(end_exchange)--> as respond
//
// Request bodies are read whole before dispatch, except on proxy routes: there the
// request is dispatched at its head and the body streams into the Exchange.
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gateway/app/exchange.h"
#include "gateway/app/runtime.h"
#include "gateway/core/timer_wheel.h"
#include "gateway/http/request_parser.h"
#include "gateway/http/response.h"
#include "gateway/sse/sse_stream.h"
#include "gateway/sse/stream_sink.h"

namespace sluice::app {

class Worker;
class PollWaiter;

class Connection final : public sse::StreamSink {
  public:
    enum class State { Reading, Waiting, Streaming, Exchanging, Finishing, Closing };

    explicit Connection(Worker& worker);
    ~Connection();

    // Accepts from the listener; on failure the connection deletes itself.
    void accept(uv_stream_t* listener);

    // Response API for handlers -------------------------------------------------------
    void respond(int status, std::string_view body, std::string_view content_type = "application/json",
                 std::vector<std::pair<std::string, std::string>> headers = {});
    void respond_error(int status, std::string_view reason,
                       std::vector<std::pair<std::string, std::string>> headers = {});
    // Sends a response already built (head only, e.g. HEAD on a stream route).
    void respond_raw(int status, std::string bytes, bool keep_alive);
    // Switches to SSE: writes `head_bytes` and hands the connection to the stream.
    void begin_stream(std::string head_bytes, std::unique_ptr<sse::SseStream> stream,
                      std::string channel);
    sse::SseStream* stream() { return stream_.get(); }
    // The answer will come from an asynchronous step (the broker): pipelined requests
    // wait, and after `timeout_ms` the client gets 504.
    void begin_async(uint64_t timeout_ms);
    // Holds the request until the waiter answers it (long-poll).
    void begin_wait(std::unique_ptr<PollWaiter> waiter, uint64_t wait_ms);

    // Hands the response to an exchange (call its start, if any, after this). The request
    // body, when it is streamed, goes to the exchange as it arrives.
    void begin_exchange(std::unique_ptr<Exchange> exchange);
    Exchange* exchange() { return exchange_.get(); }
    // The exchange's response is complete: the next request may follow (when both sides
    // allow keep-alive and the request body was read whole).
    void end_exchange(int status, bool keep_alive);
    // The response cannot be completed (its head is out): log the request and close.
    void abort_exchange(int status);
    // Counted read pausing (backpressure): two pauses need two resumes.
    void pause_reading();
    void resume_reading();
    // The client allows another request after this one (and sluice is not draining).
    bool keep_alive() const;
    bool request_chunked() const;   // the body is chunked (framing as received)
    bool request_complete() const;  // the whole request, body included, has been read
    // Watermarks of the output queue for exchanges (from limits.client_buffer).
    uint64_t high_water() const;
    uint64_t low_water() const;

    // Called on drain: streams get a last comment and end, idle connections close.
    void drain();

    Worker& worker() { return worker_; }
    // Shared flag that turns false when the connection closes: async callbacks
    // (broker replies) capture it and check it before touching the connection.
    std::shared_ptr<const bool> alive() const { return alive_; }
    State state() const { return state_; }
    const std::string& remote() const { return remote_; }
    const http::RequestHead& request() const;
    const std::string& request_body() const;
    const RuntimePtr& request_runtime() const { return request_runtime_; }
    void set_route_label(std::string label) { route_label_ = std::move(label); }
    // Accepted on the admin listener (admin.listen), which serves the admin endpoints only.
    void set_admin_listener() { admin_listener_ = true; }
    bool on_admin_listener() const { return admin_listener_; }
    // The current request's id (its usable X-Request-Id, else one generated on first use),
    // for the access log, proxied requests and sluice's own error answers on proxy routes.
    const std::string& request_id();
    // Proxy routes: the upstream server that answered, for the access log.
    void set_upstream(std::string server) { upstream_ = std::move(server); }

    // sse::StreamSink
    void send(SharedBytes bytes) override;
    void send(std::string bytes) override;
    uint64_t unsent_bytes() const override { return unsent_; }
    uint64_t refused_bytes() const override;
    void finish(sse::CloseReason why) override;
    void abort(sse::CloseReason why) override;
    uint64_t now_ms() const override;

    // Worker hooks. flush() writes what is queued (end of the loop turn); it may also
    // resume reading and answer held pipelined requests once the output has drained.
    void flush();
    bool dirty = false;
    Connection* prev = nullptr;  // worker's intrusive connection list
    Connection* next = nullptr;

  private:
    friend struct ConnCallbacks;
    friend struct WriteReq;
    void on_read(ssize_t nread, const uv_buf_t* buf);
    void on_write_done(int status, uint64_t bytes);
    void on_shutdown_done();
    void on_timer();
    void on_closed();
    void process_input(const char* data, size_t len);
    void on_head();
    void on_parse_error(const http::ParseResult& r);
    void hold_input(const char* data, size_t len);
    bool output_over_budget() const;
    void resume_after_output();
    void write_out();
    bool reading_body() const;
    void dispatch();
    void record_request(int status);
    void request_finished(int status);
    void close(sse::CloseReason why);
    void start_finishing();
    void arm_timer(uint64_t ms);
    void log_stream_end(sse::CloseReason why);
    static void timer_cb(void* self) noexcept;

    uv_tcp_t tcp_;
    Worker& worker_;
    State state_ = State::Reading;
    std::unique_ptr<http::RequestParser> parser_;
    std::string held_input_;         // pipelined bytes read while a response is pending
    std::vector<SharedBytes> queued_;
    uint64_t unsent_ = 0;            // queued + in flight
    uint64_t fresh_ = 0;             // queued since the last write attempt (not yet offered)
    uint64_t in_flight_ = 0;         // bytes of the uv_write in flight
    bool write_in_flight_ = false;
    bool keep_alive_ = true;         // for the current response
    bool shutdown_started_ = false;
    bool admitted_ = false;
    bool admin_listener_ = false;
    sse::CloseReason close_reason_ = sse::CloseReason::Client;
    TimerWheel::Entry timer_;
    std::string remote_;
    // Current request / stream bookkeeping for metrics and the access log.
    RuntimePtr request_runtime_;
    std::string route_label_;
    std::string request_id_;  // see request_id()
    std::string upstream_;
    uint64_t response_bytes_ = 0;
    std::chrono::steady_clock::time_point request_start_;
    std::unique_ptr<sse::SseStream> stream_;
    std::string stream_channel_;
    uint64_t stream_bytes_ = 0;
    std::unique_ptr<PollWaiter> waiter_;
    std::unique_ptr<Exchange> exchange_;
    // Ended exchanges, destroyed at the next safe point (never inside their own calls).
    std::vector<std::unique_ptr<Exchange>> retired_;
    int read_pauses_ = 0;
    bool held_paused_ = false;  // one of the pauses is for too much held pipelined input
    // One of the pauses is for answers the client has not read: no request is parsed
    // while the output is over client_buffer, until it drains below low_water() (#9).
    bool output_paused_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sluice::app
