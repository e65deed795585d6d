#include "gateway/app/connection.h"

#include <arpa/inet.h>

#include <cstring>

#include "gateway/app/access_log.h"
#include "gateway/app/dispatch.h"
#include "gateway/core/ascii.h"
#include "gateway/app/poll_waiter.h"
#include "gateway/app/server.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"
#include "gateway/proxy/headers.h"
#include "gateway/proxy/loop_proxy.h"

namespace sluice::app {

namespace {
// After a response that ends the connection, wait this long for the client's FIN
// (reading and discarding) before closing, so the kernel never answers unread input
// with a RST that could destroy the response in flight (nginx's lingering close).
constexpr uint64_t kLingerMs = 2000;
constexpr size_t kMaxHeldInput = 64 * 1024;
constexpr size_t kMaxBufsPerWrite = 64;
}  // namespace

// libuv trampolines: recover the connection and forward; never throw.
struct ConnCallbacks {
    static void alloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
        *buf = static_cast<Connection*>(h->data)->worker_.read_buffer();
    }
    static void read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
        auto* c = static_cast<Connection*>(s->data);
        try {
            c->on_read(nread, buf);
        } catch (const std::exception& e) {
            log::error("connection error", {{"error", e.what()}});
            c->close_now(sse::CloseReason::Error);
        }
    }
    static void closed(uv_handle_t* h) noexcept { static_cast<Connection*>(h->data)->on_closed(); }
    static void shutdown(uv_shutdown_t* req, int) noexcept {
        auto* c = static_cast<Connection*>(req->data);
        delete req;
        c->on_shutdown_done();
    }
};

struct WriteReq {
    uv_write_t req;
    Connection* conn;
    std::vector<SharedBytes> keep;  // the buffers stay alive until the write completes
    uint64_t bytes = 0;
    static void done(uv_write_t* r, int status) noexcept {
        auto* w = reinterpret_cast<WriteReq*>(r);
        Connection* c = w->conn;
        uint64_t bytes = w->bytes;
        delete w;
        c->on_write_done(status, bytes);
    }
};

Connection::Connection(Worker& worker) : worker_(worker) {
    tcp_.data = this;
    timer_.owner = this;
    timer_.fn = &Connection::timer_cb;
    deadline_.owner = this;
    deadline_.fn = &Connection::deadline_cb;
}

Connection::~Connection() = default;

void Connection::accept(uv_stream_t* listener) {
    uv_tcp_init(worker_.loop(), &tcp_);
    if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) {
        state_ = State::Closing;
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), ConnCallbacks::closed);
        return;
    }
    uv_tcp_nodelay(&tcp_, 1);
    sockaddr_storage addr{};
    int len = sizeof addr;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        if (addr.ss_family == AF_INET)
            uv_ip4_name(reinterpret_cast<sockaddr_in*>(&addr), ip, sizeof ip);
        else
            uv_ip6_name(reinterpret_cast<sockaddr_in6*>(&addr), ip, sizeof ip);
    }
    remote_ = ip;
    const auto& limits = worker_.runtime()->config->limits;
    worker_.metrics().connections_total.add(1);
    Server::Admission adm = worker_.server().admit(remote_, limits, admin_listener_);
    admitted_ = adm == Server::Admission::Ok;
    http::ParserLimits pl;
    pl.max_header_size = limits.max_header_size;
    pl.max_url_length = limits.max_url_length;
    pl.max_body_size = std::max(limits.max_body_size, limits.max_event_size);
    parser_ = std::make_unique<http::RequestParser>(pl);
    parser_->set_report_head(true);  // proxy routes stream their bodies from the head on
    uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), ConnCallbacks::alloc, ConnCallbacks::read);
    if (!admitted_) {
        worker_.metrics().rejected_connections.add(1);
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

const http::RequestHead& Connection::head() const { return parser_->head(); }

const std::string& Connection::body() const { return parser_->body(); }

pipeline::RequestBody Connection::body_kind() const {
    const http::RequestHead& h = parser_->head();
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
    retired_.clear();
    switch (state_) {
    case State::Reading:
        if (parser_ && parser_->in_message()) {
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
        if (reading_body() && read_pauses_ == 0) {
            log::info("request body timeout", {{"remote", remote_}});
            close_now(sse::CloseReason::Client);
        }
        break;
    default:
        break;
    }
}

void Connection::on_read(ssize_t nread, const uv_buf_t* buf) {
    retired_.clear();
    if (nread == 0) return;
    if (nread < 0) {
        close_now(sse::CloseReason::Client);  // EOF or reset
        return;
    }
    switch (state_) {
    case State::Reading:
        // Requests held back for unread answers come first: keep the order.
        if (output_paused_) hold_input(buf->base, static_cast<size_t>(nread));
        else process_input(buf->base, static_cast<size_t>(nread));
        break;
    case State::Waiting:
        // Pipelined input behind a long-poll: keep a bounded amount, then stop reading.
        hold_input(buf->base, static_cast<size_t>(nread));
        break;
    case State::Exchanging:
        if (reading_body()) process_input(buf->base, static_cast<size_t>(nread));
        else hold_input(buf->base, static_cast<size_t>(nread));  // the next request
        break;
    default:
        break;  // streaming or finishing: the client has nothing more to say
    }
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

bool Connection::output_over_budget() const { return unsent_ > high_water(); }

void Connection::resume_after_output() {
    if (!output_paused_ || state_ != State::Reading || unsent_ > low_water()) return;
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
    // A token per request: a late callback (a broker reply after a 504) finds its request
    // answered rather than answering the next one on this connection.
    alive_ = std::make_shared<bool>(true);
    handle_request(*this, Context{worker_, request_runtime_, admin_listener_});
}

void Connection::respond(int status, std::string_view body, std::string_view content_type,
                         pipeline::Headers headers) {
    if (state_ == State::Closing || state_ == State::Finishing) return;
    bool head_only = parser_ && parser_->head().method == "HEAD";
    http::ResponseHead head;
    head.status = status;
    if (filters_ && filters_->edits_response_heads()) {
        pipeline::ResponseHead edited;
        edited.status = status;
        edited.headers = std::move(headers);
        edited.body = pipeline::BodyEnd::Length;
        filters_->on_response_head(*this, edited);
        headers = std::move(edited.headers);
    }
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
    record_request(status);
    retire_responder();
    end_filters();
    *alive_ = false;
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
    // Never destroyed inside its own calls: at the next read, timer or write callback.
    if (responder_) retired_.push_back(std::move(responder_));
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

void Connection::wait(uint64_t timeout_ms) {
    if (state_ == State::Closing || state_ == State::Finishing) return;
    state_ = State::Waiting;
    arm_timer(timeout_ms);
}

void Connection::start_response(pipeline::ResponseHead rh) {
    if (state_ == State::Closing || state_ == State::Finishing) return;
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
    flush();
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
        write_out();
    }
    close_now(why);
}

void Connection::pause_reading() {
    if (++read_pauses_ == 1 && state_ != State::Closing)
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void Connection::resume_reading() {
    if (read_pauses_ == 0) return;
    if (--read_pauses_ > 0 || state_ == State::Closing) return;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), ConnCallbacks::alloc,
                  ConnCallbacks::read);
    // The rest of a streamed body is the client's to send again: its idle timer restarts.
    if (reading_body()) {
        arm_timer(static_cast<uint64_t>(worker_.runtime()->config->limits.idle_timeout.count()));
    }
}

uint64_t Connection::high_water() const { return worker_.runtime()->config->limits.client_buffer; }

uint64_t Connection::low_water() const { return high_water() / 4; }

void Connection::send(SharedBytes bytes) {
    if (state_ == State::Closing || bytes->empty()) return;
    unsent_ += bytes->size();
    fresh_ += bytes->size();
    if (state_ == State::Streaming) stream_bytes_ += bytes->size();
    if (state_ == State::Exchanging) response_bytes_ += bytes->size();
    queued_.push_back(std::move(bytes));
    worker_.mark_dirty(this);
}

void Connection::send(std::string bytes) { send(make_shared_bytes(std::move(bytes))); }

uint64_t Connection::refused_bytes() const {
    // libuv's queue holds the exact unwritten rest of the write in flight; what waits in
    // queued_ was offered too (it is behind refused bytes), except what came this turn.
    const auto* stream = reinterpret_cast<const uv_stream_t*>(&tcp_);
    uint64_t in_libuv = write_in_flight_ ? uv_stream_get_write_queue_size(stream) : 0;
    return in_libuv + (unsent_ - in_flight_ - fresh_);
}

void Connection::flush() {
    write_out();
    resume_after_output();
}

void Connection::write_out() {
    if (state_ == State::Closing) return;
    fresh_ = 0;  // everything queued has now been offered to the socket
    if (write_in_flight_ || queued_.empty()) return;
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    // Try the kernel directly first; only what it refuses goes into a uv_write.
    while (!queued_.empty()) {
        uv_buf_t bufs[kMaxBufsPerWrite];
        size_t n = std::min(queued_.size(), kMaxBufsPerWrite);
        for (size_t i = 0; i < n; ++i)
            bufs[i] = uv_buf_init(const_cast<char*>(queued_[i]->data()),
                                  static_cast<unsigned>(queued_[i]->size()));
        int written = uv_try_write(stream, bufs, static_cast<unsigned>(n));
        if (written == UV_EAGAIN) break;
        if (written < 0) {
            close_now(sse::CloseReason::Client);
            return;
        }
        unsent_ -= static_cast<uint64_t>(written);
        size_t w = static_cast<size_t>(written);
        size_t done = 0;
        while (done < n && w >= queued_[done]->size()) {
            w -= queued_[done]->size();
            ++done;
        }
        queued_.erase(queued_.begin(), queued_.begin() + static_cast<long>(done));
        if (w > 0) {
            // Keep the unwritten tail of a partly written buffer.
            queued_.front() = make_shared_bytes(queued_.front()->substr(w));
            break;
        }
    }
    if (!queued_.empty()) {
        auto* req = new WriteReq;
        req->conn = this;
        size_t n = std::min(queued_.size(), kMaxBufsPerWrite);
        uv_buf_t bufs[kMaxBufsPerWrite];
        for (size_t i = 0; i < n; ++i) {
            bufs[i] = uv_buf_init(const_cast<char*>(queued_[i]->data()),
                                  static_cast<unsigned>(queued_[i]->size()));
            req->bytes += queued_[i]->size();
        }
        req->keep.assign(std::make_move_iterator(queued_.begin()),
                         std::make_move_iterator(queued_.begin() + static_cast<long>(n)));
        queued_.erase(queued_.begin(), queued_.begin() + static_cast<long>(n));
        write_in_flight_ = true;
        in_flight_ = req->bytes;
        int rc = uv_write(&req->req, stream, bufs, static_cast<unsigned>(n), WriteReq::done);
        if (rc != 0) {
            write_in_flight_ = false;
            in_flight_ = 0;
            delete req;
            close_now(sse::CloseReason::Client);
            return;
        }
    }
    if (unsent_ == 0) {
        if (responder_ && state_ == State::Streaming) responder_->on_low_water();
        if (state_ == State::Finishing && !shutdown_started_) start_finishing();
    }
    if (responder_ && state_ == State::Exchanging && unsent_ <= low_water()) responder_->on_low_water();
}

void Connection::on_write_done(int status, uint64_t bytes) {
    retired_.clear();
    write_in_flight_ = false;
    in_flight_ = 0;
    unsent_ -= bytes;
    if (state_ == State::Closing) return;
    if (status != 0) {
        close_now(sse::CloseReason::Client);
        return;
    }
    if (responder_ && state_ == State::Streaming) responder_->on_low_water();
    if (state_ == State::Closing) return;
    flush();
    // The client is taking its answers: its idle (or send) timeout starts again.
    const auto& limits = worker_.runtime()->config->limits;
    bool waiting_for_client = (output_paused_ && state_ == State::Reading) ||
                              (state_ == State::Finishing && unsent_ > 0);
    if (waiting_for_client) arm_timer(static_cast<uint64_t>(limits.idle_timeout.count()));
    if (state_ == State::Finishing && unsent_ == 0 && !shutdown_started_) start_finishing();
    // flush() returns early when nothing is queued: the responder still hears of the drain.
    if (responder_ && state_ == State::Exchanging && unsent_ <= low_water()) responder_->on_low_water();
}

void Connection::start_finishing() {
    if (state_ == State::Closing) return;
    state_ = State::Finishing;
    if (read_pauses_ > 0) {  // lingering reads (and discards) whatever still comes
        read_pauses_ = 0;
        held_paused_ = false;
        output_paused_ = false;
        uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), ConnCallbacks::alloc,
                      ConnCallbacks::read);
    }
    if (unsent_ > 0) {
        // A client that never reads the last answer must not hold the connection (and
        // its memory) forever: it gets idle_timeout to take it, renewed on progress.
        arm_timer(static_cast<uint64_t>(worker_.runtime()->config->limits.idle_timeout.count()));
        flush();
        return;  // on_write_done comes back here
    }
    if (shutdown_started_) return;
    shutdown_started_ = true;
    auto* req = new uv_shutdown_t;
    req->data = this;
    if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&tcp_), ConnCallbacks::shutdown) != 0) {
        delete req;
        close_now(close_reason_);
        return;
    }
    arm_timer(kLingerMs);
}

void Connection::on_shutdown_done() {
    // Keep reading (and discarding) until the client closes or the linger timer fires.
}

void Connection::drain() {
    switch (state_) {
    case State::Reading:
        if (!parser_->in_message()) close_now(sse::CloseReason::Drain);
        break;  // a request in progress is answered with Connection: close
    case State::Waiting:
    case State::Streaming:
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
    *alive_ = false;
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
    if (admitted_) worker_.server().release(remote_, admin_listener_);
    worker_.connection_closed(this);
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), ConnCallbacks::closed);
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
    deadline_reason_ = why;
    uint64_t now = now_ms();
    worker_.wheel().schedule(deadline_, deadline_ms > now ? deadline_ms - now : 0);
}

void Connection::deadline_cb(void* self) noexcept {
    static_cast<Connection*>(self)->on_deadline();
}

void Connection::on_deadline() {
    retired_.clear();
    if (state_ != State::Waiting && state_ != State::Streaming && state_ != State::Exchanging) return;
    // The responder stops producing (a stream detaches from its channel); what it queued
    // goes out, then the connection closes and the stream's log line names `why`.
    if (responder_) responder_->on_close();
    close(pipeline::CloseMode::Flush, deadline_reason_);
}

void Connection::on_closed() {
    // Write callbacks (UV_ECANCELED) have all run before this one.
    delete this;
}

}  // namespace sluice::app
