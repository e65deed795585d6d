#include "bench/sluice_bench/tcp_client.h"

#include <netinet/in.h>
#include <sys/socket.h>

namespace sluice::bench {
namespace {

// Reads are consumed synchronously in read_cb, so every connection can share one buffer.
char g_read_buffer[64 * 1024];

}  // namespace

std::optional<sockaddr_storage> make_sockaddr(const std::string& ip, uint16_t port, bool ipv6) {
    sockaddr_storage ss{};
    int rc = ipv6 ? uv_ip6_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss))
                  : uv_ip4_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss));
    if (rc != 0) return std::nullopt;
    return ss;
}

std::string uv_error_text(int status) {
    return std::string(uv_err_name(status)) + " (" + uv_strerror(status) + ")";
}

void TcpClient::open(const sockaddr_storage& dest, std::optional<uint32_t> source_ip) {
    if (state_ != State::Idle) return;
    int rc = uv_tcp_init_ex(loop_, &tcp_, dest.ss_family);
    if (rc != 0) {
        // No handle exists (e.g. EMFILE): report both steps right away.
        listener_.on_failed(rc);
        listener_.on_closed();
        return;
    }
    tcp_.data = this;
    handle_open_ = true;
    state_ = State::Connecting;
    if (recv_buffer_ > 0) {
        // Set before connect so the window scale matches the small buffer.
        int size = recv_buffer_;
        uv_recv_buffer_size(reinterpret_cast<uv_handle_t*>(&tcp_), &size);
    }
    if (source_ip) {
#ifdef IP_BIND_ADDRESS_NO_PORT
        // Let connect() pick the port per destination instead of bind() reserving one per
        // source address: with this, ports are only limited per 4-tuple.
        uv_os_fd_t fd;
        if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        }
#endif
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(*source_ip);
        rc = uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&src), 0);
        if (rc != 0) {
            fail(rc);
            return;
        }
    }
    connect_req_.data = this;
    rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&dest),
                        connect_cb);
    if (rc != 0) fail(rc);
}

void TcpClient::write(std::string_view bytes) {
    if (state_ != State::Connecting && state_ != State::Connected) return;
    if (!tls_ctx_) return send_raw(bytes);
    plain_pending_.append(bytes);
    if (tls_ && tls_->established()) flush_tls();
}

void TcpClient::send_raw(std::string_view bytes) {
    pending_.append(bytes);
    if (state_ == State::Connected && writing_.empty()) start_write();
}

void TcpClient::flush_tls() {
    if (!plain_pending_.empty()) {
        bool ok = tls_->write(plain_pending_);
        plain_pending_.clear();
        if (!ok) return fail(UV_EPROTO);
    }
    std::string out = tls_->take_output();
    if (!out.empty()) send_raw(out);
}

void TcpClient::on_cipher(std::string_view bytes) {
    bool was_established = tls_->established();
    plain_in_.clear();
    if (!tls_->feed(bytes, &plain_in_)) return fail(UV_EPROTO);
    flush_tls();  // handshake replies, or what waited for the handshake
    if (state_ != State::Connected) return;
    if (!was_established && tls_->established()) {
        listener_.on_connected();
        if (state_ != State::Connected) return;
        flush_tls();
    }
    if (!plain_in_.empty()) listener_.on_data(plain_in_);
}

std::string TcpClient::alpn() const {
    if (!tls_) return "";
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(tls_->ssl(), &p, &len);
    return std::string(reinterpret_cast<const char*>(p), len);
}

void TcpClient::start_write() {
    if (pending_.empty()) return;
    writing_.swap(pending_);
    pending_.clear();
    uv_buf_t buf = uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
    write_req_.data = this;
    int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, write_cb);
    if (rc != 0) {
        writing_.clear();
        fail(rc);
    }
}

void TcpClient::close() {
    if (!handle_open_ || state_ == State::Closing) return;
    state_ = State::Closing;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), close_cb);
}

void TcpClient::stop_reading() {
    if (state_ == State::Connected) uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void TcpClient::fail(int status) {
    if (state_ == State::Closing) return;
    close();
    listener_.on_failed(status);
}

void TcpClient::connect_cb(uv_connect_t* req, int status) noexcept {
    auto* self = static_cast<TcpClient*>(req->data);
    if (self->state_ == State::Closing) return;  // UV_ECANCELED after close()
    if (status != 0) {
        self->fail(status);
        return;
    }
    self->state_ = State::Connected;
    int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), alloc_cb, read_cb);
    if (rc != 0) {
        self->fail(rc);
        return;
    }
    if (self->tls_ctx_) {
        // on_connected waits for the handshake (on_cipher).
        self->tls_ = std::make_unique<TlsClientSession>(*self->tls_ctx_, self->server_name_);
        if (self->tls_->handshake() == TlsClientSession::Step::Failed) return self->fail(UV_EPROTO);
        self->flush_tls();
        return;
    }
    self->listener_.on_connected();
    if (self->state_ == State::Connected && self->writing_.empty()) self->start_write();
}

void TcpClient::write_cb(uv_write_t* req, int status) noexcept {
    auto* self = static_cast<TcpClient*>(req->data);
    self->writing_.clear();
    if (self->state_ == State::Closing) return;
    if (status != 0) {
        self->fail(status);
        return;
    }
    self->start_write();
}

void TcpClient::alloc_cb(uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
    *buf = uv_buf_init(g_read_buffer, sizeof g_read_buffer);
}

void TcpClient::read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* self = static_cast<TcpClient*>(s->data);
    if (nread > 0) {
        std::string_view bytes(buf->base, static_cast<std::size_t>(nread));
        if (self->tls_) self->on_cipher(bytes);
        else self->listener_.on_data(bytes);
    } else if (nread < 0) {
        self->fail(static_cast<int>(nread));
    }
}

void TcpClient::close_cb(uv_handle_t* h) noexcept {
    auto* self = static_cast<TcpClient*>(h->data);
    self->handle_open_ = false;
    self->state_ = State::Idle;
    self->writing_.clear();
    self->pending_.clear();
    self->plain_pending_.clear();
    self->tls_.reset();
    self->listener_.on_closed();
}

}  // namespace sluice::bench
