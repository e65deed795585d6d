#include "gateway/app/h2_session.h"

#include <algorithm>

#include "gateway/app/h2_stream.h"
#include "gateway/app/worker.h"
#include "gateway/core/jitter.h"
#include "gateway/core/log.h"

namespace sluice::app {
namespace {

// Rapid reset (CVE-2023-44487): a client that opens streams and resets them at once
// costs the server work without ever counting against max concurrent streams. More
// client RST_STREAMs than this within the window: GOAWAY ENHANCE_YOUR_CALM. A browser
// closing its page's EventSources resets a few dozen at most.
constexpr uint64_t kResetWindowMs = 10000;
constexpr uint64_t kMaxClientResets = 200;
// PING and SETTINGS floods: each costs an ACK. nghttp2 ends a session whose unsent ACKs
// pile up (max_outbound_ack) when the client does not read; this also ends one that
// reads them but sends far more than any client needs.
constexpr uint64_t kControlWindowMs = 10000;
constexpr uint64_t kMaxControlFrames = 500;
// nghttp2's own limits, set explicitly so the docs can name them.
constexpr size_t kMaxSettingsEntries = 32;
constexpr size_t kMaxOutboundAcks = 1000;
constexpr size_t kMaxContinuations = 8;        // CONTINUATION flood (CVE-2024-27316)
constexpr uint64_t kResetBurst = 1000;         // nghttp2's token bucket, behind our window
constexpr uint64_t kResetRatePerSecond = 33;
// Frames are taken from nghttp2 in batches of about this much before they go to the
// connection (one copy; TLS encrypts them in records anyway).
constexpr size_t kSendBatch = 64 * 1024;

H2Session* self_of(void* user_data) { return static_cast<H2Session*>(user_data); }

// Trampolines: nghttp2 calls these on the loop thread, inside mem_recv or mem_send.
struct H2Callbacks {
    static int begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) noexcept {
        return self_of(ud)->on_begin_headers(frame);
    }
    static int header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* ud) noexcept {
        return self_of(ud)->on_header(frame, {reinterpret_cast<const char*>(name), namelen},
                                      {reinterpret_cast<const char*>(value), valuelen});
    }
    static int frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) noexcept {
        return self_of(ud)->on_frame_recv(frame);
    }
    static int data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                          void* ud) noexcept {
        return self_of(ud)->on_data_chunk(stream_id, data, len);
    }
    static int stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* ud) noexcept {
        return self_of(ud)->on_stream_close(stream_id, error_code);
    }
    static int frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) noexcept {
        return self_of(ud)->on_frame_send(frame);
    }
};

}  // namespace

// The data source of every response body: the stream's own queue.
ssize_t h2_read_body_cb(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                        uint32_t* data_flags, nghttp2_data_source*, void*) noexcept {
    auto* stream = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
    if (!stream) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
    bool eof = false;
    long n = stream->read_body(buf, length, &eof);
    if (n < 0) return NGHTTP2_ERR_DEFERRED;
    if (eof) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return n;
}

H2Session::H2Session(Worker& worker, Transport& transport, std::string remote, bool secure,
                     bool admin_listener)
    : worker_(worker),
      transport_(transport),
      remote_(std::move(remote)),
      secure_(secure),
      admin_listener_(admin_listener),
      client_resets_(kResetWindowMs, kMaxClientResets),
      control_frames_(kControlWindowMs, kMaxControlFrames) {
    timer_.owner = this;
    timer_.fn = &H2Session::timer_cb;
}

H2Session::~H2Session() {
    close_all();
    if (session_) nghttp2_session_del(session_);
}

bool H2Session::start() {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, H2Callbacks::begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, H2Callbacks::header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, H2Callbacks::frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, H2Callbacks::data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, H2Callbacks::stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, H2Callbacks::frame_send);

    nghttp2_option* opt = nullptr;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cbs);
        return false;
    }
    // Request bodies are acknowledged (WINDOW_UPDATE) only once the handler took them: a
    // proxied upload paused for a slow upstream stops the client, not our memory.
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_settings(opt, kMaxSettingsEntries);
    nghttp2_option_set_max_outbound_ack(opt, kMaxOutboundAcks);
    nghttp2_option_set_max_continuations(opt, kMaxContinuations);
    nghttp2_option_set_stream_reset_rate_limit(opt, kResetBurst, kResetRatePerSecond);
    nghttp2_option_set_no_closed_streams(opt, 1);
    int rc = nghttp2_session_server_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0) {
        session_ = nullptr;
        return false;
    }
    const auto& limits = worker_.runtime()->config->limits;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, static_cast<uint32_t>(limits.http2_max_streams)},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         static_cast<uint32_t>(std::min<uint64_t>(limits.max_header_size, UINT32_MAX))},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) return false;
    worker_.metrics().h2.connections_open.add(1);
    worker_.metrics().h2.connections_total.add(1);
    counted_ = true;
    idle_since_ = worker_.now_ms();
    arm_timer();
    want_send();
    return true;
}

void H2Session::feed(const char* data, size_t len) {
    if (!session_ || over_) return;
    ssize_t rc = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), len);
    if (rc < 0) {
        fail("receive", static_cast<int>(rc));
        return;
    }
    want_send();  // ACKs, WINDOW_UPDATEs, answers, a GOAWAY
}

void H2Session::on_output_drained() {
    if (session_ && !over_) want_send();
}

void H2Session::want_send() {
    if (session_ && !over_) worker_.dispatcher().schedule_flush(*this);
}

void H2Session::flush_now() {
    if (!session_ || over_) return;
    std::string batch;
    uint64_t budget = transport_.wire_high_water();
    while (transport_.wire_unsent() + batch.size() < budget) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
            fail("send", static_cast<int>(n));
            return;
        }
        if (n == 0) break;
        batch.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
        if (batch.size() >= kSendBatch) {
            transport_.send_wire(std::move(batch));
            batch.clear();
        }
    }
    if (!batch.empty()) transport_.send_wire(std::move(batch));
    for (auto& entry : streams_) entry.second->on_send_pass();
    // Streams whose queue drained produce more now (outside nghttp2's callbacks).
    std::vector<int32_t> drained;
    drained.swap(drained_);
    for (int32_t id : drained)
        if (H2Stream* s = find(id)) s->on_output_drained();
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) end_session();
}

void H2Session::goaway(uint32_t error_code, std::string_view reason) {
    if (over_ || !session_ || goaway_counted_) return;
    goaway_counted_ = true;  // one reason per connection (nghttp2 may fail after it)
    worker_.metrics().h2.goaways[admin::H2Stats::goaway_index(reason)].add(1);
    log::info("HTTP/2 GOAWAY", {{"remote", remote_}, {"reason", reason}, {"error", nghttp2_http2_strerror(error_code)}});
    nghttp2_session_terminate_session(session_, error_code);
    want_send();  // the GOAWAY goes out, then want_read/want_write end the session
}

void H2Session::end_session() {
    if (over_) return;
    over_ = true;
    worker_.wheel().cancel(timer_);
    transport_.end_transport();  // closes the streams (close_all) and the connection
}

void H2Session::fail(std::string_view what, int rc) {
    // Flooding, a bad preface, too many CONTINUATIONs...: nghttp2 says the session cannot
    // go on; whatever it queued (a GOAWAY) is sent before the close.
    log::info("HTTP/2 session ended", {{"remote", remote_}, {"in", what}, {"error", nghttp2_strerror(rc)}});
    if (!goaway_counted_) worker_.metrics().h2.goaways[admin::H2Stats::goaway_index("protocol")].add(1);
    goaway_counted_ = true;
    if (session_ && rc != NGHTTP2_ERR_NOMEM) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n > 0) transport_.send_wire(std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
    }
    end_session();
}

void H2Session::drain(uint64_t stream_delay_ms) {
    if (!session_ || over_ || draining_) return;
    draining_ = true;
    if (!goaway_counted_) worker_.metrics().h2.goaways[admin::H2Stats::goaway_index("drain")].add(1);
    goaway_counted_ = true;
    // Streams already opened are answered; none after them is accepted.
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    std::vector<int32_t> ids;
    for (const auto& entry : streams_) ids.push_back(entry.first);
    // With drain_pace, each stream gets its own place in the window (the connection's
    // delay would end a page's streams all at once).
    auto pace = static_cast<uint64_t>(worker_.runtime()->config->drain_pace.count());
    for (int32_t id : ids)
        if (H2Stream* s = find(id)) s->drain(stream_delay_ms > 0 ? random_below(pace) : 0);
    want_send();  // with no stream open, the session ends once the GOAWAY is out
}

void H2Session::close_all() {
    worker_.wheel().cancel(timer_);
    over_ = true;
    if (counted_) {
        worker_.metrics().h2.connections_open.add(-1);
        counted_ = false;
    }
    while (!streams_.empty()) {
        auto it = streams_.begin();
        std::unique_ptr<H2Stream> s = std::move(it->second);
        streams_.erase(it);
        worker_.metrics().h2.streams_open.add(-1);
        if (session_) nghttp2_session_set_stream_user_data(session_, s->id(), nullptr);
        s->on_closed(NGHTTP2_CANCEL);
        worker_.dispatcher().defer_delete(std::move(s));
    }
}

H2Stream* H2Session::find(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
}

void H2Session::resume_stream(int32_t id) {
    if (!session_ || over_) return;
    nghttp2_session_resume_data(session_, id);  // an error only says it was not deferred
    want_send();
}

void H2Session::reset_stream(int32_t id, uint32_t error_code, std::string_view reason) {
    if (!session_ || over_) return;
    if (!reason.empty()) worker_.metrics().h2.resets[admin::H2Stats::reset_index(reason)].add(1);
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, error_code);
    want_send();
}

void H2Session::consume(int32_t id, size_t n) {
    if (!session_ || over_ || n == 0) return;
    if (nghttp2_session_consume(session_, id, n) != 0) nghttp2_session_consume_connection(session_, n);
    want_send();
}

int H2Session::on_begin_headers(const nghttp2_frame* frame) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    int32_t id = frame->hd.stream_id;
    auto stream = std::make_unique<H2Stream>(*this, id);
    nghttp2_session_set_stream_user_data(session_, id, stream.get());
    streams_[id] = std::move(stream);
    worker_.metrics().h2.streams_open.add(1);
    worker_.metrics().h2.streams_total.add(1);
    return 0;
}

int H2Session::on_header(const nghttp2_frame* frame, std::string_view name, std::string_view value) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    if (H2Stream* s = find(frame->hd.stream_id)) s->on_header(name, value);
    return 0;
}

int H2Session::on_frame_recv(const nghttp2_frame* frame) {
    uint64_t now = worker_.now_ms();
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
        H2Stream* s = find(frame->hd.stream_id);
        if (!s) break;
        bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) s->on_headers_end(end);
        else if (end) s->on_end_stream();  // trailers
        break;
    }
    case NGHTTP2_DATA:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
            if (H2Stream* s = find(frame->hd.stream_id)) s->on_end_stream();
        break;
    case NGHTTP2_RST_STREAM:
        worker_.metrics().h2.resets[admin::H2Stats::reset_index("client")].add(1);
        if (client_resets_.add(now)) goaway(NGHTTP2_ENHANCE_YOUR_CALM, "rapid_reset");
        break;
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0 && control_frames_.add(now))
            goaway(NGHTTP2_ENHANCE_YOUR_CALM, "protocol");
        break;
    default:
        break;
    }
    return 0;
}

int H2Session::on_data_chunk(int32_t stream_id, const uint8_t* data, size_t len) {
    H2Stream* s = find(stream_id);
    if (!s) {
        nghttp2_session_consume_connection(session_, len);  // no one takes it
        return 0;
    }
    s->on_body(reinterpret_cast<const char*>(data), len);
    return 0;
}

int H2Session::on_frame_send(const nghttp2_frame* frame) {
    // The answer is complete while the client is still sending its body: it need not
    // finish (RFC 9113 section 8.1), so the stream is reset with NO_ERROR.
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        H2Stream* s = find(frame->hd.stream_id);
        if (s && !s->body_complete())
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
}

int H2Session::on_stream_close(int32_t stream_id, uint32_t error_code) {
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return 0;
    std::unique_ptr<H2Stream> s = std::move(it->second);
    streams_.erase(it);
    worker_.metrics().h2.streams_open.add(-1);
    s->on_closed(error_code);
    worker_.dispatcher().defer_delete(std::move(s));  // nghttp2 or a caller may be inside it
    if (streams_.empty()) idle_since_ = worker_.now_ms();
    return 0;
}

// One timer per session: the idle timeout while no stream is open, else the zero-window
// check. Its period is a fraction of idle_timeout (the limit of both).
void H2Session::arm_timer() {
    auto idle = static_cast<uint64_t>(worker_.runtime()->config->limits.idle_timeout.count());
    uint64_t period = std::clamp<uint64_t>(idle / 4, 100, 5000);
    worker_.wheel().schedule(timer_, period);
}

void H2Session::timer_cb(void* self) noexcept { static_cast<H2Session*>(self)->on_timer(); }

void H2Session::on_timer() {
    if (over_ || !session_) return;
    uint64_t now = worker_.now_ms();
    auto idle = static_cast<uint64_t>(worker_.runtime()->config->limits.idle_timeout.count());
    if (streams_.empty()) {
        if (!draining_ && now - idle_since_ >= idle) {
            goaway(NGHTTP2_NO_ERROR, "idle");
            return;
        }
    } else {
        check_stalls(now);
        if (over_) return;
    }
    arm_timer();
}

void H2Session::check_stalls(uint64_t now) {
    uint64_t limit = static_cast<uint64_t>(worker_.runtime()->config->limits.idle_timeout.count());
    bool waiting = false;
    std::vector<int32_t> stalled;
    for (auto& [id, s] : streams_) {
        if (!s->has_output()) {
            s->stalled_since(now, true);
            continue;
        }
        waiting = true;
        bool open = nghttp2_session_get_stream_remote_window_size(session_, id) > 0;
        uint64_t since = s->stalled_since(now, open);
        if (since != 0 && now - since >= limit) stalled.push_back(id);
    }
    for (int32_t id : stalled) {
        if (H2Stream* s = find(id)) {
            log::info("HTTP/2 stream stalled", {{"remote", remote_}, {"stream", id}});
            s->reset_stalled();
        }
    }
    // The whole connection: its window at zero, or the client not reading at all.
    bool conn_stuck = waiting && (nghttp2_session_get_remote_window_size(session_) <= 0 ||
                                  transport_.wire_unsent() > transport_.wire_high_water());
    if (!conn_stuck) {
        conn_stalled_since_ = 0;
        return;
    }
    if (conn_stalled_since_ == 0) {
        conn_stalled_since_ = now;
        return;
    }
    if (now - conn_stalled_since_ < limit) return;
    goaway(NGHTTP2_ENHANCE_YOUR_CALM, "stalled");
    end_session();  // the client reads nothing: the GOAWAY may never get out
}

}  // namespace sluice::app
