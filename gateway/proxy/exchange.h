// One proxied request: picks a server, sends the request head and streams the client's
// body to it, then streams the response back, each direction bounded by watermarks (the
// side that is ahead stops reading until the other drains). Errors before the response
// head become 502 (refused, reset, bad response) or 504 (timeout) with a JSON body;
// after it, the client connection is closed because the body cannot be completed.
//
// The client side is the pipeline::Request being answered (the carrier frames the body).
// Exactly one of respond_error / end_response / close(Abort) ends an exchange, unless the
// client went first (cancel). Runs on its loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/proxy/options.h"
#include "gateway/core/timer_wheel.h"
#include "gateway/http/request.h"
#include "gateway/pipeline/request.h"
#include "gateway/proxy/headers.h"
#include "gateway/proxy/pool.h"
#include "gateway/proxy/sse_boundary.h"
#include "gateway/proxy/upstream_conn.h"

namespace sluice::proxy {

struct ExchangeSettings {
    PoolPtr pool;
    std::string client_address;
    std::string request_id;  // the client's, or a generated one
    bool client_secure = false;  // the client came over TLS (X-Forwarded-Proto: https)
    HostMode host_mode = HostMode::Pass;
    std::string host_value;
    std::optional<sse::HeartbeatOptions> heartbeat;  // for text/event-stream responses
    uint64_t connect_timeout_ms = 5000;
    uint64_t read_timeout_ms = 60000;
    uint64_t client_timeout_ms = 60000;  // a client that reads nothing for this long is dropped
    uint64_t high_water = 256 * 1024;
    uint64_t low_water = 64 * 1024;
};

class ProxyExchange final : public UpstreamConn::Listener {
  public:
    // `request` is copied. `body` / `body_complete` describe the client's body:
    // a request without one is complete from the start.
    ProxyExchange(pipeline::Request& down, const http::RequestHead& request,
                  pipeline::RequestBody body, bool body_complete, ExchangeSettings settings);
    ~ProxyExchange();
    ProxyExchange(const ProxyExchange&) = delete;
    ProxyExchange& operator=(const ProxyExchange&) = delete;

    void start();
    // The client's body, as it arrives, and its end.
    void on_request_body(std::string_view bytes);
    void on_request_end();
    // The client's body is malformed (bad chunked framing): the upstream connection holds
    // a request that can never be completed, so it is closed, never pooled. Before the
    // response has begun the client is answered `status` (pipeline::Request::respond_error, and
    // its connection closes); after that its connection is closed (abort). Ends the
    // exchange; false (and nothing done) when it had already ended.
    bool on_request_error(int status, std::string_view reason);
    // The client's unsent bytes fell to the low watermark.
    void on_downstream_drained();
    // The client connection is closing: stop everything, never call the client's request again.
    void cancel();
    bool done() const { return done_; }
    // The server the request went to last ("" before the first attempt): the one that
    // answered, or the last that failed.
    std::string_view server() const;
    // An event-stream response is being passed through.
    bool event_stream() const { return sse_ && head_received_ && !done_; }
    // Ends an event-stream response cleanly now (drain): the client reconnects elsewhere.
    void end_stream();

    // UpstreamConn::Listener
    void on_upstream_connected() override;
    void on_upstream_head(const http::ResponseInfo& head) override;
    void on_upstream_body(std::string_view bytes) override;
    void on_upstream_end(bool reusable) override;
    void on_upstream_drained() override;
    void on_upstream_failed(Failure why, std::string_view detail) override;

  private:
    void attempt();
    void send_upstream(std::string bytes);
    void answer_error(int status, std::string_view reason);
    void answer_end();
    void answer_abort();
    void check_client_backpressure();
    void handle_failure(Failure why, std::string_view detail, bool got_bytes);
    void fail_downstream(int status, std::string_view reason, std::string_view detail);
    void end();  // common cleanup once the exchange is over
    void update_timer();
    void on_timer();
    void on_heartbeat();
    static void timer_cb(void* self) noexcept;
    static void heartbeat_cb(void* self) noexcept;
    void log_failure(std::string_view what, std::string_view detail, int status);
    TimerWheel& wheel() { return settings_.pool->context()->wheel(); }

    pipeline::Request& down_;
    http::RequestHead request_;
    ExchangeSettings settings_;
    Framing request_framing_;
    bool head_only_;
    bool idempotent_;
    bool request_complete_;  // the client's body has been read whole
    std::string pending_;    // framed body bytes waiting for a connection
    bool client_paused_ = false;

    UpstreamConn* conn_ = nullptr;
    int server_ = -1;
    bool request_started_ = false;  // the head went to conn_
    bool reused_ = false;
    bool stale_retry_done_ = false;
    std::vector<bool> tried_;
    int attempts_ = 0;
    int last_status_ = 502;
    std::string last_reason_;
    std::string last_detail_;

    bool head_received_ = false;
    int status_ = 0;
    bool response_body_ = false;  // the client gets a body (not HEAD, 204, 304)
    bool sse_ = false;
    SseBoundary boundary_;
    bool upstream_paused_ = false;

    TimerWheel::Entry timer_;
    TimerWheel::Entry heartbeat_;
    bool done_ = false;
};

}  // namespace sluice::proxy
