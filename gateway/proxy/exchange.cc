// ProxyExchange: the state of one proxied request. The rules that matter most:
//  - a retry happens only for an idempotent request whose attempt failed before any byte
//    reached the server (connect refused or timed out), or whose reused keep-alive
//    connection turned out to be closed before answering (a race every pooling proxy
//    has), and only with no request body to resend;
//  - one timer: while the exchange waits for the upstream it measures read_timeout; while
//    the response is paused because the client is not reading, the client's timeout. An
//    event-stream response has no read timeout once its head has arrived (a stream may be
//    idle for as long as it likes; heartbeats keep the client side alive).
#include "gateway/proxy/exchange.h"

#include "gateway/core/ascii.h"
#include "gateway/core/log.h"

namespace sluice::proxy {

namespace {

const char* failure_reason(Failure f) {
    switch (f) {
    case Failure::Refused: return "upstream refused the connection";
    case Failure::ConnectTimeout: return "upstream connect timed out";
    case Failure::Reset: return "upstream reset the connection";
    case Failure::Closed: return "upstream closed the connection";
    case Failure::Timeout: return "upstream timed out";
    case Failure::Protocol: return "invalid response from upstream";
    case Failure::Tls: return "upstream TLS handshake failed";
    }
    return "upstream failed";
}

int failure_status(Failure f) {
    return (f == Failure::Timeout || f == Failure::ConnectTimeout) ? 504 : 502;
}

}  // namespace

ProxyExchange::ProxyExchange(pipeline::Request& down, const http::RequestHead& request,
                             pipeline::RequestBody body, bool body_complete,
                             ExchangeSettings settings)
    : down_(down), request_(request), settings_(std::move(settings)) {
    request_framing_ = body == pipeline::RequestBody::Unknown  ? Framing::Chunked
                       : body == pipeline::RequestBody::Length ? Framing::Length
                                                               : Framing::None;
    head_only_ = request_.method == "HEAD";
    idempotent_ = is_idempotent(request_.method);
    request_complete_ = body_complete;
    tried_.assign(settings_.pool->server_count(), false);
    timer_.owner = this;
    timer_.fn = &ProxyExchange::timer_cb;
    heartbeat_.owner = this;
    heartbeat_.fn = &ProxyExchange::heartbeat_cb;
}

ProxyExchange::~ProxyExchange() { cancel(); }

std::string_view ProxyExchange::server() const {
    if (server_ < 0) return {};
    return settings_.pool->server_name(static_cast<size_t>(server_));
}

void ProxyExchange::start() { attempt(); }

void ProxyExchange::attempt() {
    int i = settings_.pool->pick(tried_);
    if (i < 0) {
        if (attempts_ == 0) {
            fail_downstream(502, "no healthy upstream server", "every server is marked down");
        } else {
            // The last failure's own detail (a TLS certificate problem says which).
            fail_downstream(last_status_, last_reason_, last_detail_ + "; no other server to try");
        }
        return;
    }
    tried_[static_cast<size_t>(i)] = true;
    server_ = i;
    ++attempts_;
    request_started_ = false;
    settings_.pool->context()->observer->on_attempt(settings_.pool->name());
    bool reused = false;
    UpstreamConn* c = settings_.pool->acquire(static_cast<size_t>(i), this,
                                              settings_.connect_timeout_ms, &reused);
    if (!c) {
        handle_failure(Failure::Refused, "the connect could not start", false);
        return;
    }
    conn_ = c;
    reused_ = reused;
    conn_->set_low_watermark(settings_.low_water);
    if (reused) on_upstream_connected();
}

void ProxyExchange::on_upstream_connected() {
    if (done_ || !conn_) return;
    UpstreamConn* c = conn_;
    ForwardedFor fwd;
    fwd.client_address = settings_.client_address;
    fwd.request_id = settings_.request_id;
    fwd.secure = settings_.client_secure;
    const std::string& server = settings_.pool->server_name(static_cast<size_t>(server_));
    switch (settings_.host_mode) {
    case HostMode::Pass: {
        const std::string* host = request_.header("host");
        fwd.host = host ? *host : server;  // HTTP/1.0 clients may send none
        break;
    }
    case HostMode::Rewrite: fwd.host = server; break;
    case HostMode::Fixed: fwd.host = settings_.host_value; break;
    }
    c->begin_request(head_only_);
    request_started_ = true;
    c->send(build_upstream_head(request_, fwd, request_framing_));
    if (done_ || conn_ != c) return;  // the write failed and the failure was handled
    if (!pending_.empty()) {
        std::string body;
        body.swap(pending_);
        c->send(std::move(body));
        if (done_ || conn_ != c) return;
    }
    check_client_backpressure();
    update_timer();
}

void ProxyExchange::send_upstream(std::string bytes) {
    if (conn_ && request_started_) {
        UpstreamConn* c = conn_;
        c->send(std::move(bytes));
        if (done_ || conn_ != c) return;
    } else {
        pending_ += bytes;
    }
    check_client_backpressure();
    update_timer();
}

// Every end of the exchange names, for the access log, the server that answered; sluice's
// own error answers carry the request id they are logged with.
void ProxyExchange::answer_error(int status, std::string_view reason) {
    down_.set_upstream(std::string(server()));
    down_.respond_error(status, reason, {{"X-Request-Id", settings_.request_id}});
}

void ProxyExchange::answer_end() {
    down_.set_upstream(std::string(server()));
    down_.end_response();
}

void ProxyExchange::answer_abort() {
    down_.set_upstream(std::string(server()));
    down_.close(pipeline::CloseMode::Abort, sse::CloseReason::Error);
}

void ProxyExchange::check_client_backpressure() {
    uint64_t queued = (conn_ && request_started_) ? conn_->pending_bytes() : pending_.size();
    if (!client_paused_ && queued > settings_.high_water) {
        client_paused_ = true;
        down_.pause_reading();
    } else if (client_paused_ && queued <= settings_.low_water) {
        client_paused_ = false;
        down_.resume_reading();
    }
}

void ProxyExchange::on_request_body(std::string_view bytes) {
    if (done_ || bytes.empty()) return;
    if (request_framing_ == Framing::Chunked) {
        std::string framed = chunk_prefix(bytes.size());
        framed.append(bytes);
        framed += "\r\n";
        send_upstream(std::move(framed));
    } else {
        send_upstream(std::string(bytes));
    }
}

void ProxyExchange::on_request_end() {
    if (done_) return;
    request_complete_ = true;
    if (request_framing_ == Framing::Chunked) send_upstream(std::string(kLastChunk));
    else update_timer();
}

bool ProxyExchange::on_request_error(int status, std::string_view reason) {
    if (done_) return false;
    log_failure("bad request body from the client", reason, head_received_ ? status_ : status);
    end();  // closes the upstream connection: it carries half a request
    if (head_received_) answer_abort();
    else answer_error(status, reason);
    return true;
}

void ProxyExchange::on_upstream_drained() {
    if (done_) return;
    check_client_backpressure();
    update_timer();  // the upstream took bytes: progress
}

void ProxyExchange::on_upstream_head(const http::ResponseInfo& head) {
    if (done_) return;
    head_received_ = true;
    settings_.pool->report_success(static_cast<size_t>(server_));
    status_ = head.status;
    const std::string* type = head.header("content-type");
    sse_ = type && ascii_istarts_with(*type, "text/event-stream");
    // Chunked or until-close upstream bodies have no known length: the client's carrier
    // frames them (chunks for an HTTP/1.1 client, a close for HTTP/1.0).
    pipeline::ResponseHead out;
    out.status = head.status;
    out.reason = head.reason;
    out.body = head_only_ || head.framing == http::BodyFraming::None ? pipeline::BodyEnd::None
               : head.framing == http::BodyFraming::Length           ? pipeline::BodyEnd::Length
                                                                      : pipeline::BodyEnd::Unknown;
    response_body_ = out.body != pipeline::BodyEnd::None;
    out.headers = client_headers(head, out.body == pipeline::BodyEnd::Unknown, settings_.request_id);
    down_.start_response(std::move(out));
    if (sse_ && settings_.heartbeat) {
        wheel().schedule(heartbeat_, static_cast<uint64_t>(settings_.heartbeat->interval.count()));
    }
    update_timer();
}

void ProxyExchange::on_upstream_body(std::string_view bytes) {
    if (done_) return;
    if (response_body_) down_.write(std::string(bytes));
    if (sse_) {
        boundary_.feed(bytes);
        if (settings_.heartbeat) {  // heartbeats fill idle time only
            wheel().schedule(heartbeat_,
                             static_cast<uint64_t>(settings_.heartbeat->interval.count()));
        }
    }
    if (!upstream_paused_ && conn_ && down_.unsent_bytes() > settings_.high_water) {
        upstream_paused_ = true;
        conn_->pause_reading();
    }
    update_timer();
}

void ProxyExchange::on_upstream_end(bool reusable) {
    if (done_) return;
    UpstreamConn* c = conn_;
    conn_ = nullptr;
    upstream_paused_ = false;
    // A connection whose request body was not sent completely cannot carry another request.
    bool reuse = reusable && request_complete_ && c && c->pending_bytes() == 0;
    if (c) settings_.pool->release(c, reuse);
    end();
    answer_end();
}

void ProxyExchange::on_upstream_failed(Failure why, std::string_view detail) {
    bool got_bytes = conn_ && conn_->response_started();
    conn_ = nullptr;  // closing itself
    handle_failure(why, detail, got_bytes);
}

void ProxyExchange::handle_failure(Failure why, std::string_view detail, bool got_bytes) {
    if (done_) return;
    const std::string& name = settings_.pool->name();
    settings_.pool->context()->observer->on_failure(name, failure_name(why));
    if (conn_) {
        conn_->close();
        conn_ = nullptr;
    }
    upstream_paused_ = false;
    if (head_received_) {
        settings_.pool->report_failure(static_cast<size_t>(server_));
        log_failure("upstream failed during the response", detail, status_);
        end();
        answer_abort();
        return;
    }
    // A failed TLS handshake, too: the request was never sent.
    bool nothing_sent = why == Failure::Refused || why == Failure::ConnectTimeout || why == Failure::Tls;
    // A pooled connection the server had already closed: not the server's fault.
    bool stale = reused_ && !stale_retry_done_ && !got_bytes &&
                 (why == Failure::Reset || why == Failure::Closed) &&
                 request_framing_ == Framing::None;
    if (!stale) settings_.pool->report_failure(static_cast<size_t>(server_));
    last_status_ = failure_status(why);
    last_reason_ = failure_reason(why);
    last_detail_ = std::string(detail);
    if (idempotent_ && (nothing_sent || stale)) {
        if (stale) {
            stale_retry_done_ = true;
            tried_[static_cast<size_t>(server_)] = false;  // the same server may answer
        }
        log::info("retrying upstream request",
                  {{"upstream", name},
                   {"server", settings_.pool->server_name(static_cast<size_t>(server_))},
                   {"error", failure_name(why)},
                   {"request_id", settings_.request_id}});
        settings_.pool->context()->observer->on_retry(name);
        attempt();
        return;
    }
    fail_downstream(last_status_, last_reason_, detail);
}

void ProxyExchange::fail_downstream(int status, std::string_view reason, std::string_view detail) {
    log_failure(reason, detail, status);
    end();
    answer_error(status, reason);
}

void ProxyExchange::log_failure(std::string_view what, std::string_view detail, int status) {
    std::string server =
        server_ >= 0 ? settings_.pool->server_name(static_cast<size_t>(server_)) : std::string("-");
    log::warn("proxy error", {{"upstream", settings_.pool->name()},
                              {"server", server},
                              {"error", what},
                              {"detail", detail},
                              {"status", status},
                              {"method", request_.method},
                              {"path", request_.path},
                              {"request_id", settings_.request_id},
                              {"remote", settings_.client_address}});
}

void ProxyExchange::end() {
    done_ = true;
    wheel().cancel(timer_);
    wheel().cancel(heartbeat_);
    if (conn_) {
        conn_->close();
        conn_ = nullptr;
    }
    if (client_paused_) {
        client_paused_ = false;
        down_.resume_reading();
    }
}

void ProxyExchange::cancel() {
    if (done_) return;
    done_ = true;
    wheel().cancel(timer_);
    wheel().cancel(heartbeat_);
    if (conn_) {
        conn_->close();  // the response is unfinished: the connection cannot be reused
        conn_ = nullptr;
    }
}

void ProxyExchange::end_stream() {
    if (!event_stream()) return;
    end();  // closes the upstream connection: the stream was not finished
    answer_end();
}

void ProxyExchange::on_downstream_drained() {
    if (done_) return;
    if (upstream_paused_ && conn_ && down_.unsent_bytes() <= settings_.low_water) {
        upstream_paused_ = false;
        conn_->resume_reading();
    }
    update_timer();
}

void ProxyExchange::update_timer() {
    if (done_) return;
    if (upstream_paused_) {
        wheel().schedule(timer_, settings_.client_timeout_ms);
        return;
    }
    bool waiting_upstream = conn_ && request_started_ &&
                            (conn_->pending_bytes() > 0 || request_complete_ || head_received_);
    if (waiting_upstream && !(sse_ && head_received_)) {
        wheel().schedule(timer_, settings_.read_timeout_ms);
    } else {
        wheel().cancel(timer_);
    }
}

void ProxyExchange::timer_cb(void* self) noexcept {
    auto* ex = static_cast<ProxyExchange*>(self);
    try {
        ex->on_timer();
    } catch (const std::exception& e) {
        log::error("proxy timer error", {{"error", e.what()}});
    }
}

void ProxyExchange::on_timer() {
    if (done_) return;
    if (upstream_paused_) {
        log::info("client stopped reading a proxied response",
                  {{"remote", settings_.client_address}, {"request_id", settings_.request_id}});
        end();
        answer_abort();
        return;
    }
    handle_failure(Failure::Timeout, "no data from upstream within read_timeout", false);
}

void ProxyExchange::heartbeat_cb(void* self) noexcept {
    auto* ex = static_cast<ProxyExchange*>(self);
    try {
        ex->on_heartbeat();
    } catch (const std::exception& e) {
        log::error("proxy heartbeat error", {{"error", e.what()}});
    }
}

void ProxyExchange::on_heartbeat() {
    if (done_ || !settings_.heartbeat) return;
    // Only between events, and not onto a client that is already behind.
    if (boundary_.at_boundary() && !upstream_paused_) {
        std::string_view beat = settings_.heartbeat->mode == sse::HeartbeatMode::Data
                                    ? kDataHeartbeat
                                    : kCommentHeartbeat;
        if (response_body_) down_.write(std::string(beat));
    }
    wheel().schedule(heartbeat_, static_cast<uint64_t>(settings_.heartbeat->interval.count()));
}

}  // namespace sluice::proxy
