// One client TCP connection: the HTTP/1.1 session. It reads requests with the HTTP parser
// from its net::TcpStream, dispatches each as a pipeline::Request (which it implements:
// handlers never see it), and writes the answers with HTTP/1.1 framing. A long answer
// belongs to the Responder the handler hands over (an SSE stream, a held poll, a proxied
// exchange, a file). Owned by its Worker, which destroys it through the dispatcher once
// the socket has closed; an ended Responder goes the same way (never destroyed inside
// one of its own calls).
//
//   accept -> Reading --(request)--> respond --(keep-alive)--> Reading
//                 |                      \--(close)--> Finishing -> shutdown -> Closing
//                 +--> Waiting (wait(): broker reply, long-poll) --> respond / start_response
//                 +--> Streaming (BodyEnd::Connection, SSE) --(end/drain)--> Finishing; (slow/error) -> Closing
//                 +--> Exchanging (a started response, or a handed-over responder) --> as respond
//
// Request bodies are read whole before dispatch, except on proxy routes: there the
// request is dispatched at its head and the body streams into the Responder.
//
// Transport: plain TCP, or TLS on a `tls:` listener (set_tls before accept): then a
// TlsLayer sits between the stream and this session, both ways (app/tls_layer.h). The
// TLS handshake happens in Reading, before any request, and counts against
// header_timeout; a graceful close sends close_notify, the client's close_notify is its
// EOF.
//
// HTTP/2: when ALPN picks "h2", or a plain listener with `http2: true` sees the HTTP/2
// preface as the connection's first bytes (h2c), the connection goes to Http2 and an
// H2Session (app/h2_session.h) takes every byte from then on; its streams are the
// requests (H2Stream), and this object is only their transport.
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gateway/app/h2_session.h"
#include "gateway/app/runtime.h"
#include "gateway/app/tls_layer.h"
#include "gateway/core/timer_wheel.h"
#include "gateway/http/request_parser.h"
#include "gateway/http/response.h"
#include "gateway/net/tcp_stream.h"
#include "gateway/pipeline/filter.h"
#include "gateway/pipeline/request.h"
#include "gateway/sse/stream_sink.h"

namespace sluice::app {

class Worker;

class Connection final : public pipeline::Request,
                         private net::TcpStream::Handler,
                         private TlsLayer::Upper,
                         private H2Session::Transport {
  public:
    enum class State { Reading, Waiting, Streaming, Exchanging, Http2, Finishing, Closing };

    explicit Connection(Worker& worker);
    ~Connection();

    // Accepted on a `tls:` listener: the connection speaks TLS with this context (the
    // listener's at accept time; kept for the connection's life, reload or not).
    void set_tls(tls::ServerContextPtr context) { tls_context_ = std::move(context); }
    // Accepted on a plain listener with `http2: true`: a connection that opens with the
    // HTTP/2 preface speaks h2c (prior knowledge), any other HTTP/1.1.
    void allow_h2c() { h2c_allowed_ = true; }
    // Accepts from the listener; on failure the socket closes and the worker lets go.
    void accept(uv_stream_t* listener);

    // pipeline::Request ---------------------------------------------------------------
    const http::RequestHead& head() const override;
    const std::string& body() const override;
    pipeline::RequestBody body_kind() const override;
    bool body_complete() const override;
    const std::string& remote() const override { return remote_; }
    // A tls listener's connection: its context until accept, its TlsLayer from then on.
    bool secure() const override { return tls_ != nullptr || tls_context_ != nullptr; }
    uint64_t now_ms() const override;
    void respond(int status, std::string_view body, std::string_view content_type = "application/json",
                 pipeline::Headers headers = {}) override;
    using pipeline::Request::respond_error;
    void start_response(pipeline::ResponseHead head) override;
    void write(SharedBytes bytes) override;
    using pipeline::Request::write;
    void end_response() override;
    uint64_t unsent_bytes() const override { return stream_.unsent_bytes(); }
    uint64_t refused_bytes() const override;
    uint64_t high_water() const override;
    uint64_t low_water() const override;
    void close(pipeline::CloseMode mode, sse::CloseReason why) override;
    void close_at(uint64_t deadline_ms, sse::CloseReason why) override;
    void wait(uint64_t timeout_ms) override;
    void hand_over(std::unique_ptr<pipeline::Responder> r) override;
    pipeline::Responder* responder() override { return responder_.get(); }
    void pause_reading() override;
    void resume_reading() override;
    pipeline::AliveToken alive() const override { return request_life_.token(); }
    void set_route_label(std::string label) override { route_label_ = std::move(label); }
    void set_stream_channel(std::string channel) override { stream_channel_ = std::move(channel); }
    const std::string& request_id() override;
    void set_upstream(std::string server) override { upstream_ = std::move(server); }
    void set_filters(const pipeline::FilterChain* chain) override { filters_ = chain; }
    void filter_suspended() override;
    void filter_resumed() override;

    // Called on drain: streams get a last comment and end (after `stream_delay_ms`, the
    // stream's place in drain_pace), idle connections close.
    void drain(uint64_t stream_delay_ms = 0);

    Worker& worker() { return worker_; }
    State state() const { return state_; }
    const RuntimePtr& request_runtime() const { return request_runtime_; }
    // Accepted on the admin listener (admin.listen), which serves the admin endpoints only.
    void set_admin_listener() { admin_listener_ = true; }
    bool on_admin_listener() const { return admin_listener_; }

  private:
    // net::TcpStream::Handler
    void on_stream_data(const char* data, size_t len) override;
    void on_stream_eof() override;
    void on_stream_error(const net::StreamError& e) override;
    void on_write_progress() override;
    void on_low_watermark() override;
    void on_output_shut_down() override;
    void on_stream_closed() override;

    // TlsLayer::Upper
    void on_tls_established(const tls::HandshakeInfo& info) override;
    void on_tls_plaintext(const char* data, size_t len) override { on_plaintext(data, len); }
    void on_tls_peer_closed() override { on_stream_eof(); }
    void on_tls_failed();

    // Request bytes, read from TCP or decrypted.
    void on_plaintext(const char* data, size_t len);
    // h2c: false while the first bytes may still be the HTTP/2 preface (held meanwhile).
    bool detect_h2c(const char*& data, size_t& len);
    void start_http2();

    // H2Session::Transport
    void send_wire(std::string bytes) override { send(std::move(bytes)); }
    uint64_t wire_unsent() const override { return stream_.unsent_bytes(); }
    uint64_t wire_high_water() const override { return high_water(); }
    void end_transport() override;

    // Queues wire bytes (heads, framed body bytes); they go out at the end of the turn.
    void send(SharedBytes bytes);
    void send(std::string bytes);
    void on_timer();
    void process_input(const char* data, size_t len);
    void on_head();
    void on_parse_error(const http::ParseResult& r);
    void hold_input(const char* data, size_t len);
    // After a suspended filter chain resumed: the streamed request body held meanwhile
    // goes to the responder the handler installed.
    void feed_held_body();
    bool output_over_budget() const;
    void resume_after_output();
    void output_progress();
    bool reading_body() const;
    void dispatch();
    void record_request(int status);
    void request_finished(int status);
    void close_now(sse::CloseReason why);
    void start_finishing();
    void retire_responder();  // destroyed at the end of the turn, never inside its own call
    void end_filters();  // the request is over: its chain's close hooks run (once)
    // Bytes the client gets for `body`, framed as the started response says.
    SharedBytes framed(SharedBytes body);
    void arm_timer(uint64_t ms);
    void log_stream_end(sse::CloseReason why);
    static void timer_cb(void* self) noexcept;

    Worker& worker_;
    net::TcpStream stream_;
    tls::ServerContextPtr tls_context_;  // set on a tls listener
    std::unique_ptr<TlsLayer> tls_;      // null on plain TCP
    bool h2c_allowed_ = false;
    bool h2c_decided_ = false;
    std::string first_bytes_;            // h2c: bytes that may be the preface
    std::unique_ptr<H2Session> h2_;      // in Http2
    State state_ = State::Reading;
    std::unique_ptr<http::RequestParser> parser_;
    std::string held_input_;         // pipelined bytes read while a response is pending
    bool keep_alive_ = true;         // for the current response
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
    int response_status_ = 0;
    // How the body of the started response is framed on the wire.
    enum class Framing { None, Raw, Chunked } framing_ = Framing::None;
    bool streamed_ = false;  // the last response is a stream (BodyEnd::Connection)
    std::string stream_channel_;
    uint64_t stream_bytes_ = 0;
    std::unique_ptr<pipeline::Responder> responder_;
    const pipeline::FilterChain* filters_ = nullptr;  // the current request's route chain
    bool held_paused_ = false;  // one of the pauses is for too much held pipelined input
    // One of the pauses is for answers the client has not read: no request is parsed
    // while the output is over client_buffer, until it drains below low_water() (#9).
    bool output_paused_ = false;
    // One life per request: a late callback (a broker reply after a 504) finds its
    // request answered rather than answering the next one on this connection.
    Lifetime request_life_;

    // close_at(): the current request's deadline, on a timer of its own.
    void on_deadline();
    static void deadline_cb(void* self) noexcept;
    TimerWheel::Entry deadline_;
    uint64_t deadline_at_ = 0;  // when deadline_ is due (the loop clock); 0: not set
    sse::CloseReason deadline_reason_ = sse::CloseReason::Client;
};

}  // namespace sluice::app
