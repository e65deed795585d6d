#include "gateway/net/tcp_stream.h"

#include <arpa/inet.h>

#include <algorithm>
#include <exception>

namespace sluice::net {

namespace {
constexpr size_t kMaxBufsPerWrite = 64;

uv_stream_t* as_stream(uv_tcp_t* t) { return reinterpret_cast<uv_stream_t*>(t); }
}  // namespace

// libuv trampolines: recover the stream and forward; never throw.
struct StreamCallbacks {
    static void alloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
        *buf = static_cast<TcpStream*>(h->data)->dispatcher_.read_buffer();
    }
    static void read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
        static_cast<TcpStream*>(s->data)->on_read(nread, buf);
    }
    static void connect(uv_connect_t* req, int status) noexcept {
        static_cast<TcpStream*>(req->data)->on_connect(status);
    }
    static void closed(uv_handle_t* h) noexcept { static_cast<TcpStream*>(h->data)->on_closed(); }
    static void shutdown(uv_shutdown_t* req, int) noexcept { delete req; }
};

// One uv_write in flight; the buffers stay alive until it completes.
struct WriteReq {
    uv_write_t req;
    TcpStream* stream = nullptr;
    std::vector<SharedBytes> keep;
    uint64_t bytes = 0;
    static void done(uv_write_t* r, int status) noexcept {
        auto* w = reinterpret_cast<WriteReq*>(r);
        TcpStream* s = w->stream;
        uint64_t bytes = w->bytes;
        delete w;
        s->on_write_done(status, bytes);
    }
};

TcpStream::TcpStream(loop::Dispatcher& dispatcher, Handler& handler)
    : dispatcher_(dispatcher), handler_(handler) {
    uv_tcp_init(dispatcher_.loop(), &tcp_);
    tcp_.data = this;
}

TcpStream::~TcpStream() = default;

template <class F>
void TcpStream::guarded(StreamError::Phase phase, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        fail(StreamError{phase, 0, true, e.what()});
    } catch (...) {
        fail(StreamError{phase, 0, true, "unknown exception"});
    }
}

void TcpStream::fail(StreamError e) {
    if (closing()) return;
    try {
        handler_.on_stream_error(e);
    } catch (...) {
        // Nothing more to report to: the stream is aborted below either way.
    }
    close(CloseType::Abort);
}

bool TcpStream::accept(uv_stream_t* listener) {
    if (uv_accept(listener, as_stream(&tcp_)) != 0) {
        begin_close();
        return false;
    }
    state_ = State::Open;
    return true;
}

bool TcpStream::open_fd(uv_os_sock_t fd) {
    if (uv_tcp_open(&tcp_, fd) != 0) {
        begin_close();
        return false;
    }
    state_ = State::Open;
    return true;
}

bool TcpStream::connect(const sockaddr* addr) {
    connect_req_ = std::make_unique<uv_connect_t>();
    connect_req_->data = this;
    if (uv_tcp_connect(connect_req_.get(), &tcp_, addr, StreamCallbacks::connect) != 0) {
        connect_req_.reset();
        begin_close();
        return false;
    }
    state_ = State::Connecting;
    return true;
}

void TcpStream::on_connect(int status) {
    connect_req_.reset();  // libuv is done with it
    if (state_ != State::Connecting) return;  // closed while connecting (UV_ECANCELED)
    if (status != 0) {
        fail(StreamError{StreamError::Phase::Connect, status, false, uv_strerror(status)});
        return;
    }
    state_ = State::Open;
    update_reading();
    write_out();
    if (state_ != State::Open) return;
    guarded(StreamError::Phase::Connect, [&] { handler_.on_stream_connected(); });
}

std::string TcpStream::peer_ip() const {
    sockaddr_storage addr{};
    int len = sizeof addr;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        if (addr.ss_family == AF_INET)
            uv_ip4_name(reinterpret_cast<sockaddr_in*>(&addr), ip, sizeof ip);
        else if (addr.ss_family == AF_INET6)
            uv_ip6_name(reinterpret_cast<sockaddr_in6*>(&addr), ip, sizeof ip);
    }
    return ip;
}

void TcpStream::set_nodelay(bool on) { uv_tcp_nodelay(&tcp_, on ? 1 : 0); }

void TcpStream::set_keepalive(bool on, unsigned delay_s) { uv_tcp_keepalive(&tcp_, on ? 1 : 0, delay_s); }

// Reading ------------------------------------------------------------------------------

void TcpStream::start_reading() {
    wants_reading_ = true;
    update_reading();
}

void TcpStream::pause_reading() {
    ++read_pauses_;
    update_reading();
}

void TcpStream::resume_reading() {
    if (read_pauses_ == 0) return;
    --read_pauses_;
    update_reading();
}

void TcpStream::clear_read_pauses() {
    read_pauses_ = 0;
    update_reading();
}

void TcpStream::update_reading() {
    bool want = wants_reading_ && read_pauses_ == 0 && (state_ == State::Open || state_ == State::Flushing);
    if (want == reading_) return;
    if (want) {
        reading_ = uv_read_start(as_stream(&tcp_), StreamCallbacks::alloc, StreamCallbacks::read) == 0;
    } else {
        uv_read_stop(as_stream(&tcp_));
        reading_ = false;
    }
}

void TcpStream::on_read(ssize_t nread, const uv_buf_t* buf) {
    if (nread == 0 || closing()) return;
    if (nread == UV_EOF) {
        guarded(StreamError::Phase::Read, [&] { handler_.on_stream_eof(); });
        return;
    }
    if (nread < 0) {
        int code = static_cast<int>(nread);
        fail(StreamError{StreamError::Phase::Read, code, false, uv_strerror(code)});
        return;
    }
    guarded(StreamError::Phase::Read, [&] { handler_.on_stream_data(buf->base, static_cast<size_t>(nread)); });
}

// Writing ------------------------------------------------------------------------------

void TcpStream::write(SharedBytes bytes) {
    if (closing() || !bytes || bytes->empty()) return;
    unsent_ += bytes->size();
    fresh_ += bytes->size();
    queued_.push_back(std::move(bytes));
    if (!above_high_ && unsent_ >= high_) {
        above_high_ = true;
        high_unreported_ = true;  // told at the flush: never inside write()
    }
    dispatcher_.schedule_flush(*this);
}

void TcpStream::write(std::string bytes) {
    if (bytes.empty()) return;
    write(make_shared_bytes(std::move(bytes)));
}

uint64_t TcpStream::refused_bytes() const {
    // libuv's queue holds the exact unwritten rest of the write in flight; what waits in
    // queued_ was offered too (it is behind refused bytes), except what came this turn.
    uint64_t in_libuv = write_in_flight_ ? uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_)) : 0;
    return in_libuv + (unsent_ - in_flight_ - fresh_);
}

void TcpStream::set_watermarks(uint64_t high, uint64_t low) {
    high_ = high;
    low_ = std::min(low, high);
}

void TcpStream::flush_now() {
    write_out();
    check_watermarks();
}

int TcpStream::offer(std::vector<iovec>& iov) {
    if ((state_ != State::Open && state_ != State::Flushing) || write_in_flight_ || queued_.empty())
        return -1;
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return -1;
    size_t n = std::min(queued_.size(), kMaxBufsPerWrite);
    for (size_t i = 0; i < n; ++i)
        iov.push_back(iovec{const_cast<char*>(queued_[i]->data()), queued_[i]->size()});
    offer_pending_ = true;
    return fd;
}

void TcpStream::offered(long result, size_t count) {
    offer_pending_ = false;
    if (state_ != State::Open && state_ != State::Flushing) return;  // closed meanwhile
    if (result < 0 && result != UV_EAGAIN) {
        // libuv's error codes are -errno on Unix, as io_uring's results are.
        int code = static_cast<int>(result);
        fail(StreamError{StreamError::Phase::Write, code, false, uv_strerror(code)});
        return;
    }
    bool whole = true;
    if (result > 0) {
        unsent_ -= static_cast<uint64_t>(result);
        whole = take_written(static_cast<size_t>(result), count);
    }
    fresh_ = 0;
    if (queued_.empty()) {
        all_written();
    } else {
        // What is left (a refused or partly taken offer, more than one offer's worth of
        // buffers, or bytes queued since by another stream's callbacks) goes the usual way.
        write_out(/*try_first=*/whole && result > 0);
    }
    check_watermarks();
}

bool TcpStream::take_written(size_t written, size_t n) {
    size_t done = 0;
    while (done < n && written >= queued_[done]->size()) {
        written -= queued_[done]->size();
        ++done;
    }
    queued_.erase(queued_.begin(), queued_.begin() + static_cast<long>(done));
    if (written == 0) return true;
    // Keep the unwritten tail of a partly written buffer.
    queued_.front() = make_shared_bytes(queued_.front()->substr(written));
    return false;
}

void TcpStream::write_out(bool try_first) {
    if (state_ != State::Open && state_ != State::Flushing) return;
    fresh_ = 0;  // everything queued has now been offered to the socket
    if (write_in_flight_ || offer_pending_ || queued_.empty()) return;
    uv_stream_t* stream = as_stream(&tcp_);
    // Try the kernel directly first; only what it refuses goes into a uv_write.
    while (try_first && !queued_.empty()) {
        uv_buf_t bufs[kMaxBufsPerWrite];
        size_t n = std::min(queued_.size(), kMaxBufsPerWrite);
        for (size_t i = 0; i < n; ++i)
            bufs[i] = uv_buf_init(const_cast<char*>(queued_[i]->data()), static_cast<unsigned>(queued_[i]->size()));
        int written = uv_try_write(stream, bufs, static_cast<unsigned>(n));
        if (written == UV_EAGAIN) break;
        if (written < 0) {
            fail(StreamError{StreamError::Phase::Write, written, false, uv_strerror(written)});
            return;
        }
        unsent_ -= static_cast<uint64_t>(written);
        if (!take_written(static_cast<size_t>(written), n)) break;
    }
    if (!queued_.empty()) {
        auto* req = new WriteReq;
        req->stream = this;
        size_t n = std::min(queued_.size(), kMaxBufsPerWrite);
        uv_buf_t bufs[kMaxBufsPerWrite];
        for (size_t i = 0; i < n; ++i) {
            bufs[i] = uv_buf_init(const_cast<char*>(queued_[i]->data()), static_cast<unsigned>(queued_[i]->size()));
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
            unsent_ -= req->bytes;
            delete req;
            fail(StreamError{StreamError::Phase::Write, rc, false, uv_strerror(rc)});
            return;
        }
        return;
    }
    if (unsent_ == 0) all_written();
}

void TcpStream::all_written() {
    guarded(StreamError::Phase::Write, [&] { handler_.on_write_progress(); });
    maybe_shut_down();
}

void TcpStream::on_write_done(int status, uint64_t bytes) {
    write_in_flight_ = false;
    in_flight_ = 0;
    unsent_ -= bytes;
    if (closing()) return;  // UV_ECANCELED from a close: the queue is dropped
    if (status != 0) {
        fail(StreamError{StreamError::Phase::Write, status, false, uv_strerror(status)});
        return;
    }
    write_out();
    if (closing()) return;
    guarded(StreamError::Phase::Write, [&] { handler_.on_write_progress(); });
    if (closing()) return;
    maybe_shut_down();
    check_watermarks();
}

void TcpStream::check_watermarks() {
    if (closing()) return;
    if (high_unreported_) {
        high_unreported_ = false;
        guarded(StreamError::Phase::Write, [&] { handler_.on_high_watermark(); });
        if (closing()) return;
    }
    if (above_high_ && unsent_ <= low_) {
        above_high_ = false;
        guarded(StreamError::Phase::Write, [&] { handler_.on_low_watermark(); });
    }
}

// Closing ------------------------------------------------------------------------------

void TcpStream::close(CloseType how) {
    if (closing()) return;
    if (how == CloseType::Abort || state_ == State::Idle || state_ == State::Connecting) {
        begin_close();
        return;
    }
    if (state_ == State::Flushing) return;
    state_ = State::Flushing;
    // Lingering: read (the owner discards) whatever still comes, to see the peer's FIN.
    wants_reading_ = true;
    clear_read_pauses();
    write_out();
    maybe_shut_down();
}

void TcpStream::maybe_shut_down() {
    if (state_ != State::Flushing || shutdown_sent_ || unsent_ > 0 || write_in_flight_) return;
    shutdown_sent_ = true;
    auto* req = new uv_shutdown_t;
    int rc = uv_shutdown(req, as_stream(&tcp_), StreamCallbacks::shutdown);
    if (rc != 0) {
        delete req;
        fail(StreamError{StreamError::Phase::Write, rc, false, uv_strerror(rc)});
        return;
    }
    guarded(StreamError::Phase::Write, [&] { handler_.on_output_shut_down(); });
}

void TcpStream::begin_close() {
    state_ = State::Closing;
    reading_ = false;
    queued_.clear();
    unsent_ = in_flight_;
    fresh_ = 0;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), StreamCallbacks::closed);
}

void TcpStream::on_closed() {
    // Write, shutdown and connect callbacks (UV_ECANCELED) have all run before this one.
    state_ = State::Closed;
    handler_.on_stream_closed();
}

}  // namespace sluice::net
