// UpstreamConn: one upstream connection on a net::TcpStream. Response bytes are parsed in
// the read callback and handed on at once, never kept; request bytes wait in the stream's
// queue only while the socket refuses them, and the listener pauses its source at its
// high watermark (pending_bytes()).
#include "gateway/proxy/upstream_conn.h"

#include <algorithm>

#include "gateway/core/log.h"
#include "gateway/proxy/pool.h"

namespace sluice::proxy {

namespace {
constexpr unsigned kKeepAliveDelaySec = 60;  // TCP keepalive: finds dead peers of long streams
// Plaintext is encrypted in pieces of at most this much, each moved to the stream before
// the next, so the session's own output budget never refuses a write (the stream's
// unsent bytes, which the exchange watches, are the one budget).
constexpr size_t kTlsPiece = 1024 * 1024;
static_assert(kTlsPiece * 2 <= tls::kDefaultMaxOutput, "a piece and its records fit the budget");
}  // namespace

const char* failure_name(Failure f) {
    switch (f) {
    case Failure::Refused: return "connect_failed";
    case Failure::ConnectTimeout: return "connect_timeout";
    case Failure::Reset: return "reset";
    case Failure::Closed: return "closed";
    case Failure::Timeout: return "timeout";
    case Failure::Protocol: return "bad_response";
    case Failure::Tls: return "tls";
    }
    return "unknown";
}

UpstreamConn::UpstreamConn(LoopContextPtr ctx, std::shared_ptr<Pool> pool, size_t server)
    : ctx_(std::move(ctx)), pool_(std::move(pool)), server_(server), stream_(*ctx_->dispatcher, *this) {
    timer_.owner = this;
    timer_.fn = &UpstreamConn::timer_cb;
}

UpstreamConn::~UpstreamConn() { ctx_->wheel().cancel(timer_); }

bool UpstreamConn::connect(const sockaddr* addr, uint64_t timeout_ms) {
    if (!stream_.connect(addr)) {
        log::warn("upstream connect failed", {{"error", "the connect could not start"}});
        state_ = State::Closing;  // the stream closes itself; the pool forgets us then
        listener_ = nullptr;
        return false;
    }
    if (const auto& t = pool_->config().tls) {
        tls::Session::Handler& handler = *this;  // a private base: converted here
        tls_ = std::make_unique<tls::Session>(t->context, pool_->tls_name(server_), handler);
    }
    stream_.start_reading();  // from the moment it connects, unless paused meanwhile
    ctx_->wheel().schedule(timer_, timeout_ms);
    return true;
}

void UpstreamConn::on_stream_connected() {
    if (state_ == State::Closing) return;
    stream_.set_nodelay(true);
    stream_.set_keepalive(true, kKeepAliveDelaySec);
    if (!tls_) {
        established();
        return;
    }
    // Still Connecting (and under connect_timeout) until the handshake is done.
    tcp_connected_ = true;
    bool ok = tls_->start();
    move_tls_output();
    if (!ok) fail(Failure::Tls, tls_->failure()->detail);
}

void UpstreamConn::established() {
    ctx_->wheel().cancel(timer_);
    state_ = State::Ready;
    if (listener_) listener_->on_upstream_connected();
}

void UpstreamConn::on_tls_established(const tls::HandshakeInfo&) {
    if (state_ == State::Connecting) established();
}

void UpstreamConn::on_tls_plaintext(const char* data, size_t len) {
    if (state_ == State::Closing) return;
    process(data, len);
}

void UpstreamConn::on_tls_peer_closed() { on_stream_eof(); }

void UpstreamConn::move_tls_output() {
    if (state_ == State::Closing || tls_->output_bytes() == 0) return;
    stream_.write(tls_->take_output());
}

void UpstreamConn::timer_cb(void* self) noexcept { static_cast<UpstreamConn*>(self)->on_timer(); }

void UpstreamConn::on_timer() {
    if (state_ == State::Connecting) {
        fail(Failure::ConnectTimeout, tcp_connected_ ? "TLS handshake not done within connect_timeout"
                                                     : "connect timed out");
    } else {
        close();  // idle in the pool for idle_timeout
    }
}

void UpstreamConn::begin_request(bool head_request) {
    ctx_->wheel().cancel(timer_);
    parser_.reset();
    parser_.set_no_body(head_request);
    ++requests_;
    response_bytes_ = 0;
}

void UpstreamConn::pause_reading() { stream_.pause_reading(); }

void UpstreamConn::resume_reading() { stream_.resume_reading(); }

void UpstreamConn::park(uint64_t idle_timeout_ms) {
    listener_ = nullptr;
    stream_.clear_read_pauses();  // an idle connection still reads, to see the server close it
    ctx_->wheel().schedule(timer_, idle_timeout_ms);
}

void UpstreamConn::send(std::string bytes) {
    if (state_ == State::Closing) return;
    if (!tls_) {
        stream_.write(std::move(bytes));
        return;
    }
    std::string_view rest = bytes;
    while (!rest.empty()) {
        size_t n = std::min(rest.size(), kTlsPiece);
        if (!tls_->write(rest.substr(0, n))) {
            fail(Failure::Tls, tls_->failure() ? tls_->failure()->detail : "TLS write refused");
            return;
        }
        move_tls_output();
        rest.remove_prefix(n);
    }
}

void UpstreamConn::on_write_progress() {
    if (listener_ && pending_bytes() <= low_water_) listener_->on_upstream_drained();
}

void UpstreamConn::on_stream_eof() {
    if (state_ == State::Closing) return;
    if (state_ == State::Connecting) {  // only with tls: the handshake was under way
        fail(Failure::Tls, "the upstream closed the connection during the TLS handshake");
        return;
    }
    if (!listener_) {  // idle in the pool: the server closed it, as it may
        close();
        return;
    }
    http::ResponseParseResult r = parser_.end_of_input();
    if (r.kind == http::ResponseParseResult::Kind::Complete) {
        Listener* l = listener_;
        close();
        l->on_upstream_end(false);  // a body delimited by the close
        return;
    }
    fail(Failure::Closed, response_bytes_ > 0 ? "upstream closed the connection mid-response"
                                              : "upstream closed the connection");
}

void UpstreamConn::on_stream_error(const net::StreamError& e) {
    Failure why = Failure::Reset;
    if (e.phase == net::StreamError::Phase::Connect) why = Failure::Refused;
    else if (e.phase == net::StreamError::Phase::Read && e.exception) why = Failure::Protocol;
    fail(why, e.detail);
}

void UpstreamConn::on_stream_data(const char* data, size_t len) {
    if (state_ == State::Closing) return;
    if (!tls_) {
        process(data, len);
        return;
    }
    // Plaintext reaches process() through on_tls_plaintext, which may close us.
    bool ok = tls_->feed(data, len);
    if (state_ == State::Closing) return;
    move_tls_output();  // handshake flights, alerts
    if (!ok) fail(Failure::Tls, tls_->failure()->detail);
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
    ctx_->wheel().cancel(timer_);
    stream_.close(net::CloseType::Abort);
}

void UpstreamConn::on_stream_closed() {
    state_ = State::Closing;
    listener_ = nullptr;
    // The pool hands this connection to the dispatcher's deferred delete.
    pool_->forget(this);
}

}  // namespace sluice::proxy
