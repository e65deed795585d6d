#include "gateway/app/connection.h"

#include "gateway/app/access_log.h"
#include "gateway/app/dispatch.h"
#include "gateway/core/ascii.h"
#include "gateway/app/poll_waiter.h"
#include "gateway/app/server.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"
#include "gateway/http/h2_preface.h"
#include "gateway/proxy/headers.h"
#include "gateway/proxy/loop_proxy.h"

namespace sluice::app {

namespace {
// After a response that ends the connection, wait this long for the client's FIN
// (reading and discarding) before closing, so the kernel never answers unread input
// with a RST that could destroy the response in flight (nginx's lingering close).
constexpr uint64_t kLingerMs = 2000;
constexpr size_t kMaxHeldInput = 64 * 1024;

// The answer to a plaintext HTTP request on a TLS port: short, in plaintext (the client
// speaks no TLS), and saying what to do.
constexpr std::string_view kPlaintextOnTlsPortBody = "This port speaks HTTPS (TLS): use an https:// URL\n";
constexpr std::string_view kPlaintextOnTlsPort =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 50\r\n"
    "Connection: close\r\n"
    "\r\n"
    "This port speaks HTTPS (TLS): use an https:// URL\n";
static_assert(kPlaintextOnTlsPortBody.size() == 50 && kPlaintextOnTlsPort.ends_with(kPlaintextOnTlsPortBody));
}  // namespace

Connection::Connection(Worker& worker) : worker_(worker), stream_(worker.dispatcher(), *this) {
    timer_.owner = this;
    timer_.fn = &Connection::timer_cb;
    deadline_.owner = this;
    deadline_.fn = &Connection::deadline_cb;
}

Connection::~Connection() {
    worker_.wheel().cancel(timer_);
    worker_.wheel().cancel(deadline_);
}

void Connection::accept(uv_stream_t* listener) {
    if (!stream_.accept(listener)) {
        state_ = State::Closing;  // on_stream_closed follows
        return;
    }
    stream_.set_nodelay(true);
    remote_ = stream_.peer_ip();
    if (tls_context_) {
        TlsLayer::Upper& upper = *this;  // a private base: converted here, not in make_unique
        tls_ = std::make_unique<TlsLayer>(std::move(tls_context_), stream_, upper);
    }
    const auto& limits = worker_.runtime()->config->limits;
    stream_.set_watermarks(limits.client_buffer, limits.client_buffer / 4);
    worker_.metrics().connections_total.add(1);
    Server::Admission adm = worker_.server().admit(remote_, limits, admin_listener_);
    admitted_ = adm == Server::Admission::Ok;
    http::ParserLimits pl;
    pl.max_header_size = limits.max_header_size;
    pl.max_url_length = limits.max_url_length;
    pl.max_body_size = std::max(limits.max_body_size, limits.max_event_size);
    parser_ = std::make_unique<http::RequestParser>(pl);
    parser_->set_report_head(true);  // proxy routes stream their bodies from the head on
    stream_.start_reading();
    if (!admitted_) {
        worker_.metrics().rejected_connections.add(1);
        if (tls_) {
            // No answer can go out before a handshake the refused connection is not
            // worth: it is closed at once.
            bool per_ip = adm == Server::Admission::TooManyFromAddress;
            log::warn("connection refused",
                      {{"remote", remote_},
                       {"reason", per_ip ? "max_connections_per_ip" : "max_connections"},
                       {"tls", true}});
            close_now(sse::CloseReason::Client);
            return;
        }
        bool per_ip = adm == Server::Admission::TooManyFromAddress;
        log::warn("connection refused",
                  {{"remote", remote_},
                   {"reason", per_ip           ? "max_connections_per_ip"
                              : admin_listener_ ? "admin listener connections"
                                                : "max_connections"}});
        keep_alive_ = false;
        respond_error(per_ip ? 429 : 503, per_ip ? "too many connections from this address"
                                                 : "too many connections");
        return;
    }
    arm_timer(static_cast<uint64_t>(limits.header_timeout.count()));
}

namespace {
// What head() and body() give once a stream has started: its parser is freed then, so an
// idle stream keeps no request bytes.
const http::RequestHead kNoHead;
const std::string kNoBody;
}  // namespace

const http::RequestHead& Connection::head() const { return parser_ ? parser_->head() : kNoHead; }

const std::string& Connection::body() const { return parser_ ? parser_->body() : kNoBody; }

pipeline::RequestBody Connection::body_kind() const {
    const http::RequestHead& h = head();
    // The parser accepts no coding but a single final "chunked".
    if (h.header("transfer-encoding")) return pipeline::RequestBody::Unknown;
    if (h.header("content-length")) return pipeline::RequestBody::Length;
    return pipeline::RequestBody::None;
}

bool Connection::body_complete() const { return parser_ && parser_->message_complete(); }

uint64_t Connection::now_ms() const { return worker_.now_ms(); }

void Connection::arm_timer(uint64_t ms) { worker_.wheel().schedule(timer_, ms); }

void Connection::timer_cb(void* self) noexcept { static_cast<Connection*>(self)->on_timer(); }

void Connection::on_timer() {
    switch (state_) {
    case State::Reading:
        if (tls_ && !tls_->established()) {
            // The handshake is part of the header read: it gets header_timeout.
            log::info("TLS handshake timeout", {{"remote", remote_}});
            worker_.metrics().tls.failures[admin::TlsStats::failure_index("timeout")].add(1);
            close_now(sse::CloseReason::Client);
        } else if (parser_ && parser_->in_message()) {
            log::info("request header timeout", {{"remote", remote_}});
            keep_alive_ = false;
            respond_error(408, "request timeout");
        } else {
            close_now(sse::CloseReason::Client);  // idle keep-alive connection
        }
        break;
    case State::Waiting:
        if (!responder_ || !responder_->on_wait_expired())
            respond_error(504, "the broker did not answer in time");
        break;
    case State::Finishing:
        close_now(close_reason_);  // the client never closed its side: stop lingering
        break;
    case State::Exchanging:
        // Armed only while a streamed request body is arriving and sluice is not the one
        // holding it back: the client stopped sending in the middle of its body.
        if (reading_body() && stream_.read_pauses() == 0) {
            log::info("request body timeout", {{"remote", remote_}});
            close_now(sse::CloseReason::Client);
        }
        break;
    default:
        break;
    }
}

void Connection::on_stream_data(const char* data, size_t len) {
    if (!tls_) {
        on_plaintext(data, len);
        return;
    }
    // Finishing (lingering) or closing: what the client still sends is discarded unread.
    if (state_ == State::Finishing || state_ == State::Closing) return;
    if (!tls_->feed(data, len)) on_tls_failed();
}

void Connection::on_tls_established(const tls::HandshakeInfo& info) {
    auto& m = worker_.metrics().tls;
    m.handshakes[admin::TlsStats::version_index(info.version)].add(1);
    if (info.resumed) m.resumed.add(1);
    log::debug("TLS established", {{"remote", remote_}, {"version", info.version}, {"alpn", info.alpn},
                                   {"sni", info.server_name}, {"resumed", info.resumed}});
    // ALPN picks the HTTP session ("h2" is offered only on listeners with http2); a client
    // that sent no ALPN, or "http/1.1", speaks HTTP/1.1.
    if (info.alpn == tls::kAlpnHttp2 && state_ == State::Reading) start_http2();
}

bool Connection::detect_h2c(const char*& data, size_t& len) {
    first_bytes_.append(data, len);
    switch (http::match_h2_preface(first_bytes_)) {
    case http::PrefaceMatch::NeedMore:
        return false;
    case http::PrefaceMatch::Yes:
        h2c_decided_ = true;
        start_http2();
        break;
    case http::PrefaceMatch::No:
        h2c_decided_ = true;
        break;
    }
    // Either way the held bytes are the input now (the session reads the preface itself).
    data = first_bytes_.data();
    len = first_bytes_.size();
    return true;
}

void Connection::start_http2() {
    worker_.wheel().cancel(timer_);  // the session has its own idle timeout
    state_ = State::Http2;
    parser_.reset();
    H2Session::Transport& transport = *this;  // a private base: converted here
    h2_ = std::make_unique<H2Session>(worker_, transport, remote_, secure(), admin_listener_);
    if (!h2_->start()) {
        log::error("HTTP/2 session could not start", {{"remote", remote_}});
        close_now(sse::CloseReason::Error);
    }
}

void Connection::end_transport() {
    if (h2_) h2_->close_all();
    start_finishing();
}

void Connection::on_tls_failed() {
    const tls::Failure& f = *tls_->failure();
    if (tls_->established()) {
        // A broken record after the handshake: the connection cannot go on.
        log::info("TLS error", {{"remote", remote_}, {"reason", tls::reason_name(f.reason)}, {"detail", f.detail}});
        close_now(sse::CloseReason::Error);
        return;
    }
    std::string_view reason = tls::reason_name(f.reason);
    worker_.metrics().tls.failures[admin::TlsStats::failure_index(reason)].add(1);
    log::info("TLS handshake failed", {{"remote", remote_}, {"reason", reason}, {"detail", f.detail}});
    keep_alive_ = false;
    // The alert (if any) is already queued; a plaintext client gets a plaintext 400.
    if (f.reason == tls::FailureReason::NotTls) stream_.write(std::string(kPlaintextOnTlsPort));
    start_finishing();
}

void Connection::on_plaintext(const char* data, size_t len) {
    if (state_ == State::Reading && h2c_allowed_ && !h2c_decided_) {
        if (!detect_h2c(data, len)) return;
        std::string input;
        input.swap(first_bytes_);  // data points into it: keep it alive for this call
        on_plaintext(input.data(), input.size());
        return;
    }
    switch (state_) {
    case State::Http2:
        h2_->feed(data, len);
        break;
    case State::Reading:
        // Requests held back for unread answers come first: keep the order.
        if (output_paused_) hold_input(data, len);
        else process_input(data, len);
        break;
    case State::Waiting:
        // Pipelined input behind a long-poll: keep a bounded amount, then stop reading.
        hold_input(data, len);
        break;
    case State::Exchanging:
        if (reading_body()) process_input(data, len);
        else hold_input(data, len);  // the next request
        break;
    default:
        break;  // streaming or finishing: the client has nothing more to say
    }
}

void Connection::on_stream_eof() { close_now(sse::CloseReason::Client); }

void Connection::on_stream_error(const net::StreamError& e) {
    // A handler that threw is a defect worth a line; a reset is the client's business.
    if (e.exception) {
        log::error("connection error", {{"error", e.detail}, {"remote", remote_}});
        close_now(sse::CloseReason::Error);
        return;
    }
    close_now(sse::CloseReason::Client);
}

void Connection::process_input(const char* data, size_t len) {
    const auto& limits = worker_.runtime()->config->limits;
    bool was_idle = !parser_->in_message();
    bool feed = true;  // after Head the parser is fed again even with no bytes left
    while (feed && (state_ == State::Reading || reading_body())) {
        if (state_ == State::Reading && !parser_->in_message() && output_over_budget()) {
            // The client is not reading its answers (#9): parse nothing more and stop
            // reading until they drain (resume_after_output), as nginx does. Memory stays
            // within client_buffer plus one read of held input.
            held_input_.append(data, len);
            if (!output_paused_) {
                output_paused_ = true;
                pause_reading();
            }
            return;
        }
        http::ParseResult r = parser_->feed(data, len);
        data += r.consumed;
        len -= r.consumed;
        switch (r.kind) {
        case http::ParseResult::Kind::NeedMore:
            if (state_ == State::Reading && was_idle && parser_->in_message())
                arm_timer(static_cast<uint64_t>(limits.header_timeout.count()));
            else if (reading_body())  // a streamed body: the client must keep sending
                arm_timer(static_cast<uint64_t>(limits.idle_timeout.count()));
            return;
        case http::ParseResult::Kind::Error:
            on_parse_error(r);
            return;
        case http::ParseResult::Kind::Head:
            on_head();
            break;
        case http::ParseResult::Kind::Body:
            if (responder_) responder_->on_request_body(r.body);
            break;
        case http::ParseResult::Kind::Complete:
            if (state_ == State::Exchanging) {
                worker_.wheel().cancel(timer_);
                if (responder_) responder_->on_request_end();
            } else {
                dispatch();
            }
            was_idle = true;
            feed = len > 0;
            break;
        }
    }
    if (len > 0 && (state_ == State::Waiting || state_ == State::Exchanging)) hold_input(data, len);
}

void Connection::on_head() {
    const http::RequestHead& head = parser_->head();
    bool body = parser_->expects_body();
    bool stream = body && streams_request_body(head, *worker_.runtime(), admin_listener_);
    // "Expect: 100-continue": the client waits for a go-ahead before sending its body.
    const std::string* expect = head.header("expect");
    bool continue_expected = expect && head.version_minor >= 1 &&
                             ascii_iequals(*expect, "100-continue");
    if (body && continue_expected && (stream || parser_->body_within_limit())) {
        send(std::string("HTTP/1.1 100 Continue\r\n\r\n"));
    }
    if (!stream) return;  // read the body whole, dispatch at Complete
    parser_->stream_body();
    dispatch();
}

void Connection::on_parse_error(const http::ParseResult& r) {
    log::info("bad request", {{"remote", remote_}, {"status", r.status}, {"reason", r.reason}});
    if (state_ == State::Exchanging) {
        // Bad framing inside a streamed body: the exchange answers 400 if its response
        // has not begun, else it closes the connection (#9).
        keep_alive_ = false;
        if (responder_ && responder_->on_request_error(r.status, r.reason)) return;
        record_request(r.status);
        close_now(sse::CloseReason::Error);
        return;
    }
    keep_alive_ = false;
    route_label_ = "-";
    request_id_.clear();
    upstream_.clear();
    request_start_ = std::chrono::steady_clock::now();
    // The parser admits the larger of two limits: name the one this endpoint has (#9).
    respond_error(r.status, r.status == 413 ? body_too_large_reason(parser_->head(), *worker_.runtime())
                                            : r.reason);
}

void Connection::hold_input(const char* data, size_t len) {
    held_input_.append(data, len);
    if (held_input_.size() > kMaxHeldInput && !held_paused_) {
        held_paused_ = true;
        pause_reading();
    }
}

bool Connection::output_over_budget() const { return stream_.unsent_bytes() > high_water(); }

void Connection::resume_after_output() {
    if (!output_paused_ || state_ != State::Reading || stream_.unsent_bytes() > low_water()) return;
    output_paused_ = false;
    resume_reading();
    if (held_input_.empty()) return;
    std::string input;
    input.swap(held_input_);
    process_input(input.data(), input.size());
}

bool Connection::reading_body() const {
    return state_ == State::Exchanging && parser_ && !parser_->message_complete();
}

void Connection::dispatch() {
    worker_.wheel().cancel(timer_);
    request_start_ = std::chrono::steady_clock::now();
    request_runtime_ = worker_.runtime();
    route_label_ = "-";
    request_id_.clear();
    upstream_.clear();
    keep_alive_ = parser_->head().keep_alive && !worker_.draining();
    request_life_.renew();
    handle_request(*this, Context{worker_, request_runtime_, admin_listener_});
}

void Connection::respond(int status, std::string_view body, std::string_view content_type,
                         pipeline::Headers headers) {
    if (state_ == State::Closing || state_ == State::Finishing) return;
    bool head_only = parser_ && parser_->head().method == "HEAD";
    http::ResponseHead head;
    head.status = status;
    if (filters_) headers = filters_->edit_whole_response(*this, status, std::move(headers));
    head.headers = std::move(headers);
    head.keep_alive = keep_alive_ && !worker_.draining();
    keep_alive_ = head.keep_alive;
    std::string bytes = http::build_response(head, body, body.empty() ? std::string_view() : content_type);
    // HEAD gets the headers GET would have (Content-Length included) and no body.
    if (head_only) bytes.resize(bytes.size() - body.size());
    retire_responder();
    response_bytes_ = bytes.size();
    // Not flushed here: the loop's end-of-turn flush sends every response of a
    // pipelined batch (and events queued meanwhile) in one writev.
    send(std::move(bytes));
    request_finished(status);
}

void Connection::record_request(int status) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start_).count();
    worker_.metrics().routes.record(route_label_, status, secs);
    if (!access_log::enabled()) return;
    RequestLogRecord r;
    r.request_id = request_id();
    if (parser_) {
        const http::RequestHead& head = parser_->head();
        r.method = head.method;
        r.path = head.path;
        r.query = head.query;
        if (const std::string* ua = head.header("user-agent")) r.user_agent = *ua;
    }
    r.route = route_label_;
    r.status = status;
    r.bytes = response_bytes_;
    r.seconds = secs;
    r.remote = remote_;
    r.upstream = upstream_;
    access_log::write(r);
}

const std::string& Connection::request_id() {
    if (request_id_.empty() && parser_) request_id_ = proxy::usable_request_id(parser_->head());
    if (request_id_.empty()) request_id_ = worker_.proxy().ids().next();
    return request_id_;
}

void Connection::request_finished(int status) {
    worker_.wheel().cancel(deadline_);  // a deadline is the request's, not the connection's
    deadline_at_ = 0;
    record_request(status);
    retire_responder();
    end_filters();
    request_life_.end();
    request_id_.clear();  // a 408 or 400 before the next request's head gets its own
    upstream_.clear();
    // A body that was never read (the answer came first) cannot be skipped reliably.
    if (parser_ && !parser_->message_complete()) keep_alive_ = false;
    if (!keep_alive_) {
        start_finishing();
        return;
    }
    state_ = State::Reading;
    parser_->reset();
    arm_timer(static_cast<uint64_t>(worker_.runtime()->config->limits.idle_timeout.count()));
    if (held_paused_) {
        held_paused_ = false;
        resume_reading();
    }
    if (!held_input_.empty()) {
        std::string input;
        input.swap(held_input_);
        process_input(input.data(), input.size());
    }
}

void Connection::end_filters() {
    const pipeline::FilterChain* chain = filters_;
    filters_ = nullptr;
    if (chain && chain->has_close_hooks()) chain->on_close(*this);
}

void Connection::retire_responder() {
    if (responder_) worker_.dispatcher().defer_delete(std::move(responder_));
}

void Connection::hand_over(std::unique_ptr<pipeline::Responder> r) {
    if (state_ == State::Closing || state_ == State::Finishing) return;
    retire_responder();
    responder_ = std::move(r);
    if (state_ == State::Reading) {
        worker_.wheel().cancel(timer_);
        state_ = State::Exchanging;
        response_bytes_ = 0;
    }
}

void Connection::filter_suspended() {
    // As a handler's wait() without its timer (the filter answers within its own
    // timeout): input is held, the next pipelined request is not dispatched, a drain
    // lets the request finish.
    if (state_ == State::Reading) state_ = State::Waiting;
}

void Connection::filter_resumed() {
    if (state_ != State::Waiting) return;
    state_ = State::Reading;  // where the handler expects the request to be
    // The handler runs right after this; what it left to read arrives after it returns.
    worker_.dispatcher().defer([this, alive = request_life_.token()] {
        if (alive) feed_held_body();
    });
}

void Connection::feed_held_body() {
    if (!reading_body()) return;  // answered, or no streamed body: request_finished feeds it
    if (held_paused_) {
        held_paused_ = false;
        resume_reading();
    }
    if (held_input_.empty()) return;
    std::string input;
    input.swap(held_input_);
    process_input(input.data(), input.size());
}

void Connection::wait(uint64_t timeout_ms) {
    if (state_ == State::Closing || state_ == State::Finishing) return;
    state_ = State::Waiting;
    arm_timer(timeout_ms);
}

void Connection::start_response(pipeline::ResponseHead rh) {
    if (state_ == State::Closing || state_ == State::Finishing) return;
    if (state_ == State::Waiting) worker_.wheel().cancel(timer_);  // the wait is over
    if (filters_ && filters_->edits_response_heads()) filters_->on_response_head(*this, rh);
    http::ResponseHead head;
    head.status = rh.status;
    head.headers = std::move(rh.headers);
    bool chunked = false;
    switch (rh.body) {
    case pipeline::BodyEnd::None: framing_ = Framing::None; break;
    case pipeline::BodyEnd::Length: framing_ = Framing::Raw; break;
    case pipeline::BodyEnd::Unknown:
        // An HTTP/1.1 client gets chunks (and keeps its connection); an HTTP/1.0 client
        // can only be told the end by a close.
        chunked = parser_->head().version_minor >= 1;
        framing_ = chunked ? Framing::Chunked : Framing::Raw;
        if (!chunked) keep_alive_ = false;
        break;
    case pipeline::BodyEnd::Connection:
        framing_ = Framing::Raw;
        keep_alive_ = false;  // the body ends when the connection closes
        break;
    }
    head.keep_alive = keep_alive_ && !worker_.draining();
    keep_alive_ = head.keep_alive;
    response_status_ = rh.status;
    std::string bytes = http::build_head(head, rh.reason, chunked);
    if (rh.body != pipeline::BodyEnd::Connection) {
        if (state_ != State::Exchanging) response_bytes_ = 0;
        state_ = State::Exchanging;
        send(std::move(bytes));
        return;
    }
    state_ = State::Streaming;
    streamed_ = true;
    response_bytes_ = bytes.size();
    send(std::move(bytes));
    record_request(rh.status);
    // The request is done with: an idle stream keeps no parser and no held input.
    parser_.reset();
    held_input_.clear();
    held_input_.shrink_to_fit();
}

void Connection::write(SharedBytes bytes) {
    if (framing_ == Framing::None || bytes->empty()) return;
    if (framing_ == Framing::Chunked) bytes = make_shared_bytes(http::chunk(*bytes));
    send(std::move(bytes));
}

void Connection::end_response() {
    if (state_ == State::Streaming) {
        start_finishing();  // the last response: it ends with the connection
        return;
    }
    if (state_ != State::Exchanging) return;
    if (framing_ == Framing::Chunked) send(std::string(http::kLastChunk));
    framing_ = Framing::None;
    // Offered to the kernel now, so the next pipelined request sees how much of the
    // output is really still unsent.
    stream_.flush_now();
    if (state_ == State::Closing) return;
    request_finished(response_status_);
}

void Connection::close(pipeline::CloseMode mode, sse::CloseReason why) {
    if (state_ == State::Closing) return;
    if (mode == pipeline::CloseMode::Flush) {
        close_reason_ = why;
        start_finishing();
        return;
    }
    if (state_ == State::Exchanging) {
        // The response cannot be completed (its head is out): log it, and let what the
        // kernel takes now go out before the close (the head and body so far), so the
        // client sees where the response broke off rather than nothing (#9).
        record_request(response_status_);
        stream_.flush_now();
    }
    close_now(why);
}

void Connection::pause_reading() { stream_.pause_reading(); }

void Connection::resume_reading() {
    if (stream_.read_pauses() == 0) return;
    stream_.resume_reading();
    // The rest of a streamed body is the client's to send again: its idle timer restarts.
    if (stream_.read_pauses() == 0 && reading_body() && state_ != State::Closing) {
        arm_timer(static_cast<uint64_t>(worker_.runtime()->config->limits.idle_timeout.count()));
    }
}

uint64_t Connection::high_water() const { return worker_.runtime()->config->limits.client_buffer; }

uint64_t Connection::low_water() const { return high_water() / 4; }

void Connection::send(SharedBytes bytes) {
    if (state_ == State::Closing || bytes->empty()) return;
    if (state_ == State::Streaming) stream_bytes_ += bytes->size();
    if (state_ == State::Exchanging) response_bytes_ += bytes->size();
    if (tls_) {
        // Refused only once the session failed (the connection is closing already) or
        // close_notify went out (nothing may follow it): dropped then.
        tls_->write(*bytes);
        return;
    }
    stream_.write(std::move(bytes));
}

void Connection::send(std::string bytes) { send(make_shared_bytes(std::move(bytes))); }

uint64_t Connection::refused_bytes() const { return stream_.refused_bytes(); }

void Connection::on_write_progress() { output_progress(); }

void Connection::on_low_watermark() { output_progress(); }

// The kernel took queued bytes: whoever waits for room goes on.
void Connection::output_progress() {
    if (state_ == State::Closing) return;
    if (state_ == State::Http2) {
        h2_->on_output_drained();
        return;
    }
    if (responder_ && state_ == State::Streaming) responder_->on_low_water();
    if (state_ == State::Closing) return;
    resume_after_output();
    if (state_ == State::Closing) return;
    // The client is taking its answers: its idle (or send) timeout starts again.
    uint64_t unsent = stream_.unsent_bytes();
    bool waiting_for_client = (output_paused_ && state_ == State::Reading) ||
                              (state_ == State::Finishing && unsent > 0);
    if (waiting_for_client) {
        arm_timer(static_cast<uint64_t>(worker_.runtime()->config->limits.idle_timeout.count()));
    }
    if (responder_ && state_ == State::Exchanging && unsent <= low_water()) responder_->on_low_water();
}

void Connection::start_finishing() {
    if (state_ == State::Closing || state_ == State::Finishing) return;
    state_ = State::Finishing;
    held_paused_ = false;  // the stream reads (and this discards) whatever still comes
    output_paused_ = false;
    if (stream_.unsent_bytes() > 0) {
        // A client that never reads the last answer must not hold the connection (and
        // its memory) forever: it gets idle_timeout to take it, renewed on progress.
        arm_timer(static_cast<uint64_t>(worker_.runtime()->config->limits.idle_timeout.count()));
    }
    if (tls_) tls_->shutdown();  // close_notify, after everything queued
    stream_.close(net::CloseType::AfterFlush);  // on_output_shut_down once all is written
}

void Connection::on_output_shut_down() {
    // Lingering: keep reading (and discarding) until the client closes or this expires.
    arm_timer(kLingerMs);
}

void Connection::drain(uint64_t stream_delay_ms) {
    switch (state_) {
    case State::Http2:
        h2_->drain(stream_delay_ms);  // GOAWAY; the connection ends with its last stream
        break;
    case State::Reading:
        if (!parser_->in_message()) close_now(sse::CloseReason::Drain);
        break;  // a request in progress is answered with Connection: close
    case State::Streaming:
        if (stream_delay_ms > 0) {
            close_at(now_ms() + stream_delay_ms, sse::CloseReason::Drain);  // see on_deadline
            break;
        }
        [[fallthrough]];
    case State::Waiting:
        if (responder_) responder_->on_shutdown();
        break;
    case State::Exchanging:
        keep_alive_ = false;  // the response in progress is the last one
        if (responder_) responder_->on_shutdown();
        break;
    default:
        break;
    }
}

void Connection::close_now(sse::CloseReason why) {
    if (state_ == State::Closing) return;
    state_ = State::Closing;
    request_life_.end();
    worker_.wheel().cancel(timer_);
    worker_.wheel().cancel(deadline_);
    if (responder_) {
        responder_->on_close();
        // A stream's own line: how long it lasted and why it ended.
        if (streamed_)
            log_stream_end(why == sse::CloseReason::Client ? close_reason_ : why);
        retire_responder();
    }
    end_filters();
    if (h2_) h2_->close_all();
    if (admitted_) worker_.server().release(remote_, admin_listener_);
    admitted_ = false;
    stream_.close(net::CloseType::Abort);  // on_stream_closed follows
}

void Connection::log_stream_end(sse::CloseReason why) {
    if (!access_log::enabled()) return;
    StreamLogRecord r;
    r.request_id = request_id();
    r.route = route_label_;
    r.channel = stream_channel_;
    r.events = responder_->events_sent();
    r.bytes = stream_bytes_;
    r.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start_).count();
    r.reason = sse::close_reason_name(why);
    r.remote = remote_;
    if (const std::string* ua = parser_ ? parser_->head().header("user-agent") : nullptr)
        r.user_agent = *ua;
    access_log::write(r);
}

void Connection::close_at(uint64_t deadline_ms, sse::CloseReason why) {
    if (deadline_at_ != 0 && deadline_at_ <= deadline_ms) return;  // an earlier end stands
    deadline_at_ = deadline_ms;
    deadline_reason_ = why;
    uint64_t now = now_ms();
    worker_.wheel().schedule(deadline_, deadline_ms > now ? deadline_ms - now : 0);
}

void Connection::deadline_cb(void* self) noexcept {
    static_cast<Connection*>(self)->on_deadline();
}

void Connection::on_deadline() {
    deadline_at_ = 0;
    if (state_ != State::Waiting && state_ != State::Streaming && state_ != State::Exchanging) return;
    if (deadline_reason_ == sse::CloseReason::Drain) {  // a paced drain reached this stream
        if (responder_) responder_->on_shutdown();
        return;
    }
    // The responder stops producing (a stream detaches from its channel); what it queued
    // goes out, then the connection closes and the stream's log line names `why`.
    if (responder_) responder_->on_close();
    close(pipeline::CloseMode::Flush, deadline_reason_);
}

void Connection::on_stream_closed() {
    state_ = State::Closing;
    worker_.connection_closed(this);  // destroyed at the end of the turn
}

}  // namespace sluice::app
