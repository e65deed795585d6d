#include "gateway/app/h2_stream.h"

#include <algorithm>
#include <cstring>

#include "gateway/app/access_log.h"
#include "gateway/app/dispatch.h"
#include "gateway/app/h2_session.h"
#include "gateway/app/worker.h"
#include "gateway/core/ascii.h"
#include "gateway/core/log.h"
#include "gateway/proxy/headers.h"
#include "gateway/proxy/loop_proxy.h"

namespace sluice::app {
namespace {

// Per-hop fields of HTTP/1.1 that HTTP/2 forbids (RFC 9113 section 8.2.2): a proxied
// upstream's answer may carry them, the client would reject the stream.
bool connection_specific(std::string_view lower_name) {
    return lower_name == "connection" || lower_name == "keep-alive" || lower_name == "proxy-connection" ||
           lower_name == "transfer-encoding" || lower_name == "upgrade";
}

uint32_t reset_code(sse::CloseReason why) {
    return why == sse::CloseReason::Error ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CANCEL;
}

std::string_view reset_label(sse::CloseReason why) {
    switch (why) {
    case sse::CloseReason::Slow: return "slow";
    case sse::CloseReason::Error: return "error";
    default: return "cancel";
    }
}

}  // namespace

H2Stream::H2Stream(H2Session& session, int32_t id) : session_(session), worker_(session.worker()), id_(id) {
    wait_timer_.owner = this;
    wait_timer_.fn = &H2Stream::wait_cb;
    deadline_timer_.owner = this;
    deadline_timer_.fn = &H2Stream::deadline_cb;
    request_start_ = std::chrono::steady_clock::now();
}

H2Stream::~H2Stream() {
    worker_.wheel().cancel(wait_timer_);
    worker_.wheel().cancel(deadline_timer_);
}

const std::string& H2Stream::remote() const { return session_.remote(); }

bool H2Stream::secure() const { return session_.secure(); }

uint64_t H2Stream::now_ms() const { return worker_.now_ms(); }

uint64_t H2Stream::high_water() const {
    const RuntimePtr& rt = runtime_ ? runtime_ : worker_.runtime();
    return rt->config->limits.client_buffer;
}

// --- The request ------------------------------------------------------------------------

void H2Stream::on_header(std::string_view name, std::string_view value) {
    if (header_too_large_) return;
    // RFC 9113 section 6.5.2: each field counts its name, value and 32 bytes.
    header_bytes_ += name.size() + value.size() + 32;
    if (header_bytes_ > worker_.runtime()->config->limits.max_header_size) {
        header_too_large_ = true;
        return;
    }
    if (name == ":method") {
        head_.method = value;
    } else if (name == ":path") {
        head_.target = value;
        size_t q = value.find('?');
        head_.path = value.substr(0, q);
        head_.query = q == std::string_view::npos ? std::string() : std::string(value.substr(q + 1));
    } else if (name == ":authority") {
        head_.headers.push_back({"host", std::string(value)});
    } else if (!name.empty() && name[0] == ':') {
        return;  // :scheme (nghttp2 checked the pseudo-header set)
    } else if (name == "cookie") {
        // HTTP/2 may split cookies into several fields; handlers read one (section 8.2.3).
        for (auto& h : head_.headers) {
            if (h.name == "cookie") {
                h.value += "; ";
                h.value += value;
                return;
            }
        }
        head_.headers.push_back({"cookie", std::string(value)});
    } else {
        if (name == "user-agent") user_agent_ = value;
        head_.headers.push_back({std::string(name), std::string(value)});
    }
}

void H2Stream::on_headers_end(bool end_stream) {
    head_.version_major = 2;
    head_.version_minor = 0;
    head_.keep_alive = true;
    runtime_ = worker_.runtime();
    request_start_ = std::chrono::steady_clock::now();
    has_body_ = !end_stream;
    body_complete_ = end_stream;
    if (header_too_large_) {
        dispatched_ = true;  // answered here; a body that follows is dropped
        respond_error(431, "request header fields too large");
        return;
    }
    if (end_stream) {
        dispatch();
        return;
    }
    streams_body_ = streams_request_body(head_, *runtime_, session_.admin_listener());
    if (streams_body_) dispatch();  // the body streams to the responder as it arrives
}

pipeline::RequestBody H2Stream::body_kind() const {
    if (!has_body_) return pipeline::RequestBody::None;
    if (head_.header("content-length")) return pipeline::RequestBody::Length;
    return pipeline::RequestBody::Unknown;  // HTTP/2 frames it: the proxy chunks it upstream
}

void H2Stream::on_body(const char* data, size_t len) {
    if (closed_ || finished_ || header_too_large_ || body_too_large_) {
        session_.consume(id_, len);  // answered already: dropped
        return;
    }
    if (streams_body_) {
        // Not acknowledged while held: the stream's window fills and the client waits.
        if (!responder_ || read_pauses_ > 0 || !held_body_.empty()) held_body_.append(data, len);
        else deliver_body(data, len);
        return;
    }
    const auto& limits = runtime_->config->limits;
    // As the HTTP/1.1 parser: the larger limit here, dispatch holds all but publish to
    // max_body_size.
    if (body_.size() + len > std::max(limits.max_body_size, limits.max_event_size)) {
        body_too_large_ = true;
        session_.consume(id_, len);
        dispatched_ = true;
        respond_error(413, body_too_large_reason(head_, *runtime_));
        return;
    }
    body_.append(data, len);
    session_.consume(id_, len);
}

void H2Stream::deliver_body(const char* data, size_t len) {
    responder_->on_request_body(std::string_view(data, len));
    session_.consume(id_, len);
}

void H2Stream::on_end_stream() {
    body_complete_ = true;
    if (closed_ || finished_ || header_too_large_ || body_too_large_) return;
    if (streams_body_) {
        if (!responder_ || read_pauses_ > 0 || !held_body_.empty()) held_end_ = true;
        else responder_->on_request_end();
        return;
    }
    if (!dispatched_) dispatch();
}

void H2Stream::feed_held() {
    if (closed_ || !responder_ || read_pauses_ > 0) return;
    if (!held_body_.empty()) {
        std::string held;
        held.swap(held_body_);
        deliver_body(held.data(), held.size());
    }
    if (held_end_ && responder_ && !closed_) {
        held_end_ = false;
        responder_->on_request_end();
    }
}

void H2Stream::resume_reading() {
    if (read_pauses_ == 0) return;
    if (--read_pauses_ == 0) feed_held();
}

void H2Stream::dispatch() {
    dispatched_ = true;
    request_id_.clear();
    handle_request(*this, Context{worker_, runtime_, session_.admin_listener()});
}

const std::string& H2Stream::request_id() {
    if (request_id_.empty()) request_id_ = proxy::usable_request_id(head_);
    if (request_id_.empty()) request_id_ = worker_.proxy().ids().next();
    return request_id_;
}

// --- The answer -------------------------------------------------------------------------

void H2Stream::submit_head(int status, const pipeline::Headers& headers, bool no_body) {
    std::string status_text = std::to_string(status);
    std::vector<std::string> names;
    names.reserve(headers.size());
    std::vector<nghttp2_nv> nv;
    nv.reserve(headers.size() + 1);
    auto add = [&nv](const std::string& name, const std::string& value) {
        nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                      NGHTTP2_NV_FLAG_NONE});
    };
    static const std::string kStatus = ":status";
    add(kStatus, status_text);
    for (const auto& [name, value] : headers) {
        names.push_back(ascii_lowercase(name));  // HTTP/2 field names are lowercase
        if (connection_specific(names.back())) {
            names.pop_back();
            continue;
        }
        add(names.back(), value);
    }
    head_sent_ = true;
    response_status_ = status;
    nghttp2_data_provider source;
    source.source.ptr = nullptr;
    source.read_callback = h2_read_body_cb;
    // nghttp2 copies the fields (names and values) before this returns.
    int rc = nghttp2_submit_response(session_.nghttp2(), id_, nv.data(), nv.size(), no_body ? nullptr : &source);
    if (rc != 0) {
        log::warn("HTTP/2 response not submitted", {{"stream", id_}, {"error", nghttp2_strerror(rc)}});
        reset(NGHTTP2_INTERNAL_ERROR, "error");
        return;
    }
    if (no_body) {
        ended_ = true;
        eof_sent_ = true;
    }
    session_.want_send();
}

void H2Stream::respond(int status, std::string_view body, std::string_view content_type,
                       pipeline::Headers headers) {
    if (closed_ || finished_ || head_sent_ || reset_sent_) return;
    worker_.wheel().cancel(wait_timer_);
    if (filters_) headers = filters_->edit_whole_response(*this, status, std::move(headers));
    // As http::build_response: 204 and 304 carry no body and no length.
    bool no_body_status = status == 204 || status == 304;
    if (!no_body_status) {
        if (!body.empty()) headers.emplace_back("content-type", std::string(content_type));
        headers.emplace_back("content-length", std::to_string(body.size()));
    }
    bool head_only = head_.method == "HEAD";
    bool no_body = no_body_status || head_only || body.empty();
    submit_head(status, headers, no_body);
    if (!no_body && !closed_) {
        out_.push_back(make_shared_bytes(std::string(body)));
        queued_ += body.size();
        fresh_ += body.size();
        response_bytes_ += body.size();
        ended_ = true;
    }
    finish_request(status);
}

void H2Stream::start_response(pipeline::ResponseHead rh) {
    if (closed_ || finished_ || head_sent_ || reset_sent_) return;
    worker_.wheel().cancel(wait_timer_);  // the wait is over
    if (filters_ && filters_->edits_response_heads()) filters_->on_response_head(*this, rh);
    bool no_body = rh.body == pipeline::BodyEnd::None || head_.method == "HEAD";
    streamed_ = rh.body == pipeline::BodyEnd::Connection;
    submit_head(rh.status, rh.headers, no_body);
    // A stream's request is logged when it starts (its own line when it ends).
    if (streamed_) record_request(rh.status);
}

void H2Stream::write(SharedBytes bytes) {
    if (closed_ || !head_sent_ || ended_ || bytes->empty()) return;
    queued_ += bytes->size();
    fresh_ += bytes->size();
    response_bytes_ += bytes->size();
    out_.push_back(std::move(bytes));
    if (queued_ > low_water()) above_low_ = true;
    session_.resume_stream(id_);
}

void H2Stream::end_response() {
    if (closed_ || !head_sent_) return;
    if (!ended_) {
        ended_ = true;
        session_.resume_stream(id_);
    }
    if (!streamed_) finish_request(response_status_);
}

long H2Stream::read_body(uint8_t* buf, size_t len, bool* eof) {
    size_t copied = 0;
    while (copied < len && !out_.empty()) {
        const std::string& front = *out_.front();
        size_t n = std::min(len - copied, front.size() - out_offset_);
        std::memcpy(buf + copied, front.data() + out_offset_, n);
        copied += n;
        out_offset_ += n;
        if (out_offset_ == front.size()) {
            out_.pop_front();
            out_offset_ = 0;
        }
    }
    queued_ -= copied;
    fresh_ = std::min(fresh_, queued_);
    if (above_low_ && queued_ <= low_water()) {
        above_low_ = false;
        session_.stream_drained(id_);
    }
    if (out_.empty() && ended_) {
        *eof = true;
        eof_sent_ = true;
        return static_cast<long>(copied);
    }
    if (copied == 0) return -1;  // deferred until write() or end_response()
    return static_cast<long>(copied);
}

void H2Stream::on_send_pass() { fresh_ = 0; }

void H2Stream::on_output_drained() {
    if (closed_ || !responder_) return;
    responder_->on_low_water();
}

uint64_t H2Stream::stalled_since(uint64_t now, bool window_open) {
    if (window_open) stalled_since_ = 0;
    else if (stalled_since_ == 0) stalled_since_ = now;
    return stalled_since_;
}

void H2Stream::reset_stalled() {
    close_reason_ = sse::CloseReason::Slow;
    if (head_sent_ && !streamed_ && !finished_) record_request(response_status_);
    reset(NGHTTP2_CANCEL, "stalled");
}

void H2Stream::close(pipeline::CloseMode mode, sse::CloseReason why) {
    if (closed_) return;
    close_reason_ = why;
    if (mode == pipeline::CloseMode::Flush && head_sent_) {
        // What is queued goes out, then END_STREAM: for an SSE stream, a clean end that
        // EventSource answers by reconnecting.
        if (!ended_) {
            ended_ = true;
            session_.resume_stream(id_);
        }
        return;
    }
    // Abort, or nothing was answered: the stream is reset (the others go on).
    if (head_sent_ && !streamed_ && !finished_) record_request(response_status_);
    reset(reset_code(why), reset_label(why));
}

void H2Stream::reset(uint32_t error_code, std::string_view reason) {
    if (closed_ || reset_sent_) return;
    reset_sent_ = true;
    out_.clear();
    out_offset_ = 0;
    queued_ = 0;
    fresh_ = 0;
    ended_ = true;
    stop_responder(close_reason_);
    session_.reset_stream(id_, error_code, reason);
}

void H2Stream::stop_responder(sse::CloseReason why) {
    if (!responder_) return;
    responder_->on_close();
    if (streamed_ && !stream_logged_) {
        stream_logged_ = true;
        log_stream_end(why);
    }
    retire_responder();
}

void H2Stream::on_closed(uint32_t error_code) {
    if (closed_) return;
    closed_ = true;
    life_.end();
    worker_.wheel().cancel(wait_timer_);
    worker_.wheel().cancel(deadline_timer_);
    // Reset by the client (or the connection ended) while the answer was going on.
    sse::CloseReason why = close_reason_;
    if (error_code != NGHTTP2_NO_ERROR && !reset_sent_) why = sse::CloseReason::Client;
    stop_responder(why);
    if (streamed_ && !stream_logged_) {
        stream_logged_ = true;
        log_stream_end(why);
    }
    if (head_sent_ && !finished_ && !streamed_ && !reset_sent_ && !eof_sent_) record_request(response_status_);
    finished_ = true;
    end_filters();
}

void H2Stream::finish_request(int status) {
    if (finished_) return;
    finished_ = true;
    worker_.wheel().cancel(wait_timer_);
    worker_.wheel().cancel(deadline_timer_);
    deadline_at_ = 0;
    record_request(status);
    retire_responder();
    end_filters();
    life_.end();  // a late reply finds its request answered
}

void H2Stream::retire_responder() {
    if (responder_) worker_.dispatcher().defer_delete(std::move(responder_));
}

void H2Stream::end_filters() {
    const pipeline::FilterChain* chain = filters_;
    filters_ = nullptr;
    if (chain && chain->has_close_hooks()) chain->on_close(*this);
}

void H2Stream::hand_over(std::unique_ptr<pipeline::Responder> r) {
    if (closed_ || finished_) return;
    retire_responder();
    responder_ = std::move(r);
    if (!streams_body_) return;
    // The handler starts its responder after this returns (the proxy exchange): the body
    // held so far follows then.
    worker_.dispatcher().defer([this, alive = life_.token()] {
        if (alive) feed_held();
    });
}

void H2Stream::wait(uint64_t timeout_ms) {
    if (closed_ || finished_) return;
    worker_.wheel().schedule(wait_timer_, timeout_ms);
}

void H2Stream::wait_cb(void* self) noexcept { static_cast<H2Stream*>(self)->on_wait_expired(); }

void H2Stream::on_wait_expired() {
    if (closed_ || finished_ || head_sent_) return;
    if (!responder_ || !responder_->on_wait_expired()) respond_error(504, "the broker did not answer in time");
}

void H2Stream::close_at(uint64_t deadline_ms, sse::CloseReason why) {
    if (deadline_at_ != 0 && deadline_at_ <= deadline_ms) return;  // an earlier end stands
    deadline_at_ = deadline_ms;
    deadline_reason_ = why;
    uint64_t now = now_ms();
    worker_.wheel().schedule(deadline_timer_, deadline_ms > now ? deadline_ms - now : 0);
}

void H2Stream::deadline_cb(void* self) noexcept { static_cast<H2Stream*>(self)->on_deadline(); }

void H2Stream::on_deadline() {
    deadline_at_ = 0;
    if (closed_ || (finished_ && !streamed_)) return;
    if (deadline_reason_ == sse::CloseReason::Drain) {  // a paced drain reached this stream
        if (responder_) responder_->on_shutdown();
        return;
    }
    if (responder_) responder_->on_close();
    close(pipeline::CloseMode::Flush, deadline_reason_);
}

void H2Stream::drain(uint64_t delay_ms) {
    if (closed_ || !dispatched_ || (finished_ && !streamed_)) return;
    if (streamed_ && delay_ms > 0) {
        close_at(now_ms() + delay_ms, sse::CloseReason::Drain);
        return;
    }
    if (responder_) responder_->on_shutdown();
}

// --- The access log ---------------------------------------------------------------------

void H2Stream::record_request(int status) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start_).count();
    worker_.metrics().routes.record(route_label_, status, secs);
    if (!access_log::enabled()) return;
    RequestLogRecord r;
    r.request_id = request_id();
    r.method = head_.method;
    r.path = head_.path;
    r.query = head_.query;
    r.user_agent = user_agent_;
    r.route = route_label_;
    r.status = status;
    r.bytes = response_bytes_;
    r.seconds = secs;
    r.remote = session_.remote();
    r.upstream = upstream_;
    access_log::write(r);
}

void H2Stream::log_stream_end(sse::CloseReason why) {
    if (!access_log::enabled()) return;
    StreamLogRecord r;
    r.request_id = request_id();
    r.route = route_label_;
    r.channel = stream_channel_;
    r.events = responder_ ? responder_->events_sent() : 0;
    r.bytes = response_bytes_;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start_).count();
    r.reason = sse::close_reason_name(why);
    r.remote = session_.remote();
    r.user_agent = user_agent_;
    access_log::write(r);
}

}  // namespace sluice::app
