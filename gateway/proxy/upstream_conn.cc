// UpstreamConn: the libuv side of one upstream connection. Response bytes are parsed in
// the read callback and handed on at once, never kept; request bytes wait in a queue only
// while the socket refuses them, and the listener pauses its source at the high watermark.
#include "gateway/proxy/upstream_conn.h"

#include "gateway/core/log.h"
#include "gateway/proxy/pool.h"

namespace sluice::proxy {

namespace {
constexpr size_t kMaxBufsPerWrite = 64;
constexpr unsigned kKeepAliveDelaySec = 60;  // TCP keepalive: finds dead peers of long streams
}  // namespace

const char* failure_name(Failure f) {
    switch (f) {
    case Failure::Refused: return "connect_failed";
    case Failure::ConnectTimeout: return "connect_timeout";
    case Failure::Reset: return "reset";
    case Failure::Closed: return "closed";
    case Failure::Timeout: return "timeout";
    case Failure::Protocol: return "bad_response";
    }
    return "unknown";
}

// libuv trampolines: recover the connection and forward; never throw.
struct UpstreamCallbacks {
    static void alloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
        *buf = static_cast<UpstreamConn*>(h->data)->ctx_->read_buf;
    }
    static void read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
        auto* c = static_cast<UpstreamConn*>(s->data);
        try {
            c->on_read(nread, buf);
        } catch (const std::exception& e) {
            c->fail(Failure::Protocol, e.what());
        }
    }
    static void connect(uv_connect_t* req, int status) noexcept {
        auto* c = static_cast<UpstreamConn*>(req->data);
        try {
            c->on_connect(status);
        } catch (const std::exception& e) {
            c->fail(Failure::Refused, e.what());
        }
    }
    static void closed(uv_handle_t* h) noexcept {
        static_cast<UpstreamConn*>(h->data)->on_closed();
    }
};

struct UpstreamWrite {
    uv_write_t req;
    UpstreamConn* conn = nullptr;
    std::vector<std::string> keep;  // alive until the write completes
    uint64_t bytes = 0;
    static void done(uv_write_t* r, int status) noexcept {
        auto* w = reinterpret_cast<UpstreamWrite*>(r);
        UpstreamConn* c = w->conn;
        uint64_t bytes = w->bytes;
        delete w;
        try {
            c->on_write_done(status, bytes);
        } catch (const std::exception& e) {
            c->fail(Failure::Reset, e.what());
        }
    }
};

UpstreamConn::UpstreamConn(LoopContextPtr ctx, std::shared_ptr<Pool> pool, size_t server)
    : ctx_(std::move(ctx)), pool_(std::move(pool)), server_(server) {
    uv_tcp_init(ctx_->loop, &tcp_);
    tcp_.data = this;
    connect_req_.data = this;
    timer_.owner = this;
    timer_.fn = &UpstreamConn::timer_cb;
}

bool UpstreamConn::connect(const sockaddr* addr, uint64_t timeout_ms) {
    int rc = uv_tcp_connect(&connect_req_, &tcp_, addr, UpstreamCallbacks::connect);
    if (rc != 0) {
        log::warn("upstream connect failed", {{"error", uv_strerror(rc)}});
        close();
        return false;
    }
    ctx_->wheel->schedule(timer_, timeout_ms);
    return true;
}

void UpstreamConn::on_connect(int status) {
    if (state_ == State::Closing) return;  // closed while connecting (UV_ECANCELED)
    ctx_->wheel->cancel(timer_);
    if (status != 0) {
        fail(Failure::Refused, uv_strerror(status));
        return;
    }
    state_ = State::Ready;
    uv_tcp_nodelay(&tcp_, 1);
    uv_tcp_keepalive(&tcp_, 1, kKeepAliveDelaySec);
    if (read_pauses_ == 0) start_reading();
    flush();
    if (state_ == State::Closing) return;
    if (listener_) listener_->on_upstream_connected();
}

void UpstreamConn::timer_cb(void* self) noexcept {
    auto* c = static_cast<UpstreamConn*>(self);
    if (c->state_ == State::Connecting) c->fail(Failure::ConnectTimeout, "connect timed out");
    else c->close();  // idle in the pool for idle_timeout
}

void UpstreamConn::begin_request(bool head_request) {
    ctx_->wheel->cancel(timer_);
    parser_.reset();
    parser_.set_no_body(head_request);
    ++requests_;
    response_bytes_ = 0;
}

void UpstreamConn::start_reading() {
    if (reading_ || state_ != State::Ready) return;
    if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), UpstreamCallbacks::alloc,
                      UpstreamCallbacks::read) == 0) {
        reading_ = true;
    }
}

void UpstreamConn::pause_reading() {
    if (++read_pauses_ == 1 && reading_) {
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
        reading_ = false;
    }
}

void UpstreamConn::resume_reading() {
    if (read_pauses_ > 0 && --read_pauses_ == 0) start_reading();
}

void UpstreamConn::park(uint64_t idle_timeout_ms) {
    listener_ = nullptr;
    read_pauses_ = 0;
    start_reading();  // an idle connection still reads, to see the server close it
    ctx_->wheel->schedule(timer_, idle_timeout_ms);
}

void UpstreamConn::send(std::string bytes) {
    if (state_ == State::Closing || bytes.empty()) return;
    pending_ += bytes.size();
    queued_.push_back(std::move(bytes));
    flush();
}

void UpstreamConn::flush() {
    if (state_ != State::Ready || write_in_flight_ || queued_.empty()) return;
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    uv_buf_t bufs[kMaxBufsPerWrite];
    size_t n = std::min(queued_.size(), kMaxBufsPerWrite);
    for (size_t i = 0; i < n; ++i)
        bufs[i] = uv_buf_init(queued_[i].data(), static_cast<unsigned>(queued_[i].size()));
    int written = uv_try_write(stream, bufs, static_cast<unsigned>(n));
    if (written < 0 && written != UV_EAGAIN) {
        fail(Failure::Reset, uv_strerror(written));
        return;
    }
    size_t w = written > 0 ? static_cast<size_t>(written) : 0;
    pending_ -= w;
    size_t done = 0;
    while (done < queued_.size() && w >= queued_[done].size()) {
        w -= queued_[done].size();
        ++done;
    }
    queued_.erase(queued_.begin(), queued_.begin() + static_cast<long>(done));
    if (w > 0) queued_.front().erase(0, w);
    if (queued_.empty()) return;

    auto* req = new UpstreamWrite;
    req->conn = this;
    n = std::min(queued_.size(), kMaxBufsPerWrite);
    req->keep.assign(std::make_move_iterator(queued_.begin()),
                     std::make_move_iterator(queued_.begin() + static_cast<long>(n)));
    queued_.erase(queued_.begin(), queued_.begin() + static_cast<long>(n));
    for (size_t i = 0; i < n; ++i) {
        bufs[i] = uv_buf_init(req->keep[i].data(), static_cast<unsigned>(req->keep[i].size()));
        req->bytes += req->keep[i].size();
    }
    write_in_flight_ = true;
    int rc = uv_write(&req->req, stream, bufs, static_cast<unsigned>(n), UpstreamWrite::done);
    if (rc != 0) {
        write_in_flight_ = false;
        pending_ -= req->bytes;
        delete req;
        fail(Failure::Reset, uv_strerror(rc));
    }
}

void UpstreamConn::on_write_done(int status, uint64_t bytes) {
    write_in_flight_ = false;
    pending_ -= bytes;
    if (state_ == State::Closing) return;
    if (status != 0) {
        fail(Failure::Reset, uv_strerror(status));
        return;
    }
    flush();
    if (state_ == State::Closing) return;
    if (listener_ && pending_ <= low_water_) listener_->on_upstream_drained();
}

void UpstreamConn::on_read(ssize_t nread, const uv_buf_t* buf) {
    if (nread == 0 || state_ == State::Closing) return;
    if (nread < 0) {
        if (!listener_) {  // idle in the pool: the server closed it, as it may
            close();
            return;
        }
        if (nread != UV_EOF) {
            fail(Failure::Reset, uv_strerror(static_cast<int>(nread)));
            return;
        }
        http::ResponseParseResult r = parser_.finish();
        if (r.kind == http::ResponseParseResult::Kind::Complete) {
            Listener* l = listener_;
            l->on_upstream_end(false);  // a body delimited by the close
            close();
            return;
        }
        fail(Failure::Closed, response_bytes_ > 0 ? "upstream closed the connection mid-response"
                                                  : "upstream closed the connection");
        return;
    }
    process(buf->base, static_cast<size_t>(nread));
}

void UpstreamConn::process(const char* data, size_t len) {
    using Kind = http::ResponseParseResult::Kind;
    if (!listener_) {  // bytes nobody asked for: the connection cannot be trusted
        close();
        return;
    }
    response_bytes_ += len;
    Listener* l = listener_;
    // The final head is handed on only once the bytes read with it have parsed: a response
    // whose body framing is already broken in this read (a chunk size past 64 bits) is
    // then a plain bad response, answered 502, instead of a head with nothing after it
    // (#9). Returns false when the listener closed or released the connection.
    bool head_held = false;
    auto release_head = [&]() {
        if (!head_held) return true;
        head_held = false;
        l->on_upstream_head(parser_.head());
        return state_ != State::Closing && listener_ == l;
    };
    while (true) {
        http::ResponseParseResult r = parser_.feed(data, len);
        data += r.consumed;
        len -= r.consumed;
        switch (r.kind) {
        case Kind::NeedMore: release_head(); return;
        case Kind::Head:
            if (parser_.head().status < 200) continue;  // interim response (100, 103)
            head_held = true;
            continue;
        case Kind::Body:
            if (!release_head()) return;
            l->on_upstream_body(r.body);
            break;
        case Kind::Complete:
            if (parser_.head().status < 200) {
                if (len == 0) return;
                continue;  // the final response follows
            }
            if (!release_head()) return;
            l->on_upstream_end(parser_.head().keep_alive && len == 0);
            return;
        case Kind::Error: fail(Failure::Protocol, r.reason); return;
        }
        if (state_ == State::Closing || listener_ != l) return;
    }
}

void UpstreamConn::fail(Failure why, std::string_view detail) {
    Listener* l = listener_;
    close();
    if (l) l->on_upstream_failed(why, detail);
}

void UpstreamConn::close() {
    if (state_ == State::Closing) return;
    state_ = State::Closing;
    listener_ = nullptr;
    ctx_->wheel->cancel(timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), UpstreamCallbacks::closed);
}

void UpstreamConn::on_closed() {
    // Write callbacks (UV_ECANCELED) and a cancelled connect have all run before this.
    std::shared_ptr<Pool> pool = std::move(pool_);
    if (pool) pool->forget(this);
    delete this;
}

}  // namespace sluice::proxy
