// One HTTP/2 stream: a request and its answer, carried by an H2Session. It implements
// pipeline::Request exactly as the HTTP/1.1 Connection does, so every handler (sse, poll,
// publish, proxy, static, admin) serves it unchanged; only the framing differs: the
// answer's head becomes a HEADERS frame, its body DATA frames that nghttp2 pulls from
// this stream's queue (read_body) as the stream's and the connection's flow-control
// windows allow.
//
//   HEADERS --(END_STREAM, or a route that streams its body)--> dispatched
//           \--(DATA...)--(END_STREAM)--> dispatched (body read whole)
//   dispatched --> respond / start_response + write + end_response --> END_STREAM sent
//              --> wait() (broker reply, long-poll) / hand_over (sse, proxy, file)
//   close(Abort) / slow / stalled --> RST_STREAM;  client RST_STREAM --> on_closed
//
// Owned by its session (one map entry per open stream); destroyed through the
// dispatcher after nghttp2 reports the stream closed, never inside one of its own calls.
// Each stream has its own output budget (client_buffer): an SSE stream whose client
// stopped taking its DATA is reset alone (RST_STREAM), the other streams go on.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "gateway/app/runtime.h"
#include "gateway/core/lifetime.h"
#include "gateway/core/timer_wheel.h"
#include "gateway/http/request.h"
#include "gateway/pipeline/filter.h"
#include "gateway/pipeline/request.h"

namespace sluice::app {

class H2Session;
class Worker;

class H2Stream final : public pipeline::Request {
  public:
    H2Stream(H2Session& session, int32_t id);
    ~H2Stream();

    int32_t id() const { return id_; }

    // --- From the session (nghttp2 callbacks) ---------------------------------------------
    // One request header field; false once the head is over max_header_size (the rest is
    // ignored and the request is answered 431).
    void on_header(std::string_view name, std::string_view value);
    // The request head is complete; `end_stream`: no body follows.
    void on_headers_end(bool end_stream);
    // Request body bytes (already counted against the flow-control windows).
    void on_body(const char* data, size_t len);
    void on_end_stream();
    // nghttp2 wants up to `len` body bytes: copies them into `buf`. Returns the count, or
    // -1 when nothing is queued yet (the stream defers until write() resumes it); sets
    // *eof when the answer is complete.
    long read_body(uint8_t* buf, size_t len, bool* eof);
    // The stream is closed (answered, reset by either side, or the connection ended):
    // the responder stops, the request is logged. No more calls follow.
    void on_closed(uint32_t error_code);
    // The session sent what it could: bytes queued before now that are still here were
    // refused by flow control (refused_bytes()).
    void on_send_pass();
    // The queue fell to the low watermark during a send pass: the producer goes on.
    void on_output_drained();
    // Server shutdown: the answer ends (a stream after `delay_ms`, its place in drain_pace).
    void drain(uint64_t delay_ms);
    // Zero-window check: since when (loop ms) this stream has had data waiting and no
    // window to send it in; 0 when not stalled.
    uint64_t stalled_since(uint64_t now_ms, bool window_open);
    // Reset for a zero window that outlasted idle_timeout (the session's check).
    void reset_stalled();
    bool has_output() const { return queued_ > 0 || (ended_ && !eof_sent_); }
    bool closed() const { return closed_; }

    // --- pipeline::Request -----------------------------------------------------------------
    const http::RequestHead& head() const override { return head_; }
    const std::string& body() const override { return body_; }
    pipeline::RequestBody body_kind() const override;
    bool body_complete() const override { return body_complete_; }
    const std::string& remote() const override;
    bool secure() const override;
    uint64_t now_ms() const override;
    void respond(int status, std::string_view body, std::string_view content_type = "application/json",
                 pipeline::Headers headers = {}) override;
    using pipeline::Request::respond_error;
    void start_response(pipeline::ResponseHead head) override;
    void write(SharedBytes bytes) override;
    using pipeline::Request::write;
    void end_response() override;
    uint64_t unsent_bytes() const override { return queued_; }
    uint64_t refused_bytes() const override { return queued_ - fresh_; }
    uint64_t high_water() const override;
    uint64_t low_water() const override { return high_water() / 4; }
    void close(pipeline::CloseMode mode, sse::CloseReason why) override;
    void close_at(uint64_t deadline_ms, sse::CloseReason why) override;
    void wait(uint64_t timeout_ms) override;
    void hand_over(std::unique_ptr<pipeline::Responder> r) override;
    pipeline::Responder* responder() override { return responder_.get(); }
    void pause_reading() override { ++read_pauses_; }
    void resume_reading() override;
    pipeline::AliveToken alive() const override { return life_.token(); }
    void set_route_label(std::string label) override { route_label_ = std::move(label); }
    void set_stream_channel(std::string channel) override { stream_channel_ = std::move(channel); }
    const std::string& request_id() override;
    void set_upstream(std::string server) override { upstream_ = std::move(server); }
    void set_filters(const pipeline::FilterChain* chain) override { filters_ = chain; }

  private:
    void dispatch();
    // Submits the HEADERS frame (and the data source unless `no_body`).
    void submit_head(int status, const pipeline::Headers& headers, bool no_body);
    void reset(uint32_t error_code, std::string_view reason);
    void record_request(int status);
    void log_stream_end(sse::CloseReason why);
    void finish_request(int status);  // the answer is complete: log, filters' close hooks
    void retire_responder();
    void end_filters();
    void deliver_body(const char* data, size_t len);  // to the responder, window consumed
    void feed_held();  // the body held while paused (or before hand_over) goes on
    void stop_responder(sse::CloseReason why);  // on_close, the stream's log line, retired
    static void wait_cb(void* self) noexcept;
    static void deadline_cb(void* self) noexcept;
    void on_wait_expired();
    void on_deadline();

    H2Session& session_;
    Worker& worker_;  // the stream may be destroyed (deferred) after its session
    int32_t id_;
    Lifetime life_;
    http::RequestHead head_;
    uint64_t header_bytes_ = 0;
    bool header_too_large_ = false;
    std::string body_;
    bool body_complete_ = false;
    bool has_body_ = false;
    bool streams_body_ = false;   // a proxy route: the body goes to the responder as it comes
    bool body_too_large_ = false;
    bool dispatched_ = false;
    int read_pauses_ = 0;
    std::string held_body_;       // streamed body bytes that arrived while paused
    bool held_end_ = false;       // ... and its end
    std::unique_ptr<pipeline::Responder> responder_;
    const pipeline::FilterChain* filters_ = nullptr;

    // The answer.
    bool head_sent_ = false;
    bool ended_ = false;          // end_response(), respond() or close(Flush): END_STREAM follows the queue
    bool eof_sent_ = false;
    bool deferred_ = false;       // nghttp2 waits for write() to resume the data source
    bool finished_ = false;       // finish_request() ran
    bool closed_ = false;
    bool reset_sent_ = false;
    bool stream_logged_ = false;
    bool streamed_ = false;       // BodyEnd::Connection (an SSE stream)
    std::deque<SharedBytes> out_;
    size_t out_offset_ = 0;       // bytes of out_.front() already sent
    uint64_t queued_ = 0;
    uint64_t fresh_ = 0;          // queued since the last send pass (see refused_bytes)
    bool above_low_ = false;
    uint64_t stalled_since_ = 0;

    // Timers: wait() and close_at().
    TimerWheel::Entry wait_timer_;
    TimerWheel::Entry deadline_timer_;
    uint64_t deadline_at_ = 0;
    sse::CloseReason deadline_reason_ = sse::CloseReason::Client;
    sse::CloseReason close_reason_ = sse::CloseReason::Client;

    // The access log.
    RuntimePtr runtime_;
    std::string route_label_ = "-";
    std::string request_id_;
    std::string upstream_;
    std::string stream_channel_;
    std::string user_agent_;
    int response_status_ = 0;
    uint64_t response_bytes_ = 0;
    std::chrono::steady_clock::time_point request_start_;
};

}  // namespace sluice::app
