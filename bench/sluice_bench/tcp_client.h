// One outgoing TCP connection on the bench's loop: optional bind to a source address (so
// connections can spread over 127.0.0.x), connect, writes (one uv_write in flight, later
// bytes batched behind it), reads handed to a listener, close. The object outlives its
// handle and may be opened again once on_closed has run. With set_tls() the connection
// speaks TLS: the listener sees on_connected after the handshake, and plaintext only.
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bench/sluice_bench/stream_client.h"
#include "bench/sluice_bench/tls_client.h"

namespace sluice::bench {

class TcpClient final : public StreamClient {
public:
    using Listener = ClientListener;

    enum class State : uint8_t { Idle, Connecting, Connected, Closing };

    TcpClient(uv_loop_t* loop, Listener& listener) : loop_(loop), listener_(listener) {}
    TcpClient(const TcpClient&) = delete;
    TcpClient& operator=(const TcpClient&) = delete;

    // Starts connecting to `dest`, from `source_ip` (IPv4, host order) when given. Only in
    // state Idle. Failures, even immediate ones, are reported through on_failed, and on_closed
    // follows; both may run before open() returns.
    void open(const sockaddr_storage& dest, std::optional<uint32_t> source_ip) override;

    // Queues bytes (copied) for sending; ignored unless Connecting or Connected.
    void write(std::string_view bytes) override;

    // Starts closing (idempotent). on_closed runs on a later loop iteration.
    void close() override;

    // Receive buffer (SO_RCVBUF) for later open() calls; 0 = the system's default.
    void set_recv_buffer(int bytes) { recv_buffer_ = bytes; }

    // Stops reading (a stalled client): the kernel buffers fill and the peer must hold back.
    void stop_reading() override;

    // Later open() calls speak TLS (ctx outlives the client; SNI server_name).
    void set_tls(const TlsClientContext* ctx, std::string server_name) {
        tls_ctx_ = ctx;
        server_name_ = std::move(server_name);
    }
    // The negotiated ALPN protocol ("" before the handshake or without TLS).
    std::string alpn() const;

    State state() const { return state_; }

private:
    static void connect_cb(uv_connect_t* req, int status) noexcept;
    static void write_cb(uv_write_t* req, int status) noexcept;
    static void alloc_cb(uv_handle_t* h, size_t suggested, uv_buf_t* buf) noexcept;
    static void read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
    static void close_cb(uv_handle_t* h) noexcept;

    void start_write();
    void send_raw(std::string_view bytes);
    void fail(int status);
    // TLS: ciphertext from the socket; plaintext goes to the listener.
    void on_cipher(std::string_view bytes);
    void flush_tls();

    uv_loop_t* loop_;
    Listener& listener_;
    uv_tcp_t tcp_{};
    uv_connect_t connect_req_{};
    uv_write_t write_req_{};
    std::string writing_;  // bytes of the uv_write in flight; stable until write_cb
    std::string pending_;  // bytes queued behind it
    State state_ = State::Idle;
    bool handle_open_ = false;
    int recv_buffer_ = 0;
    const TlsClientContext* tls_ctx_ = nullptr;
    std::string server_name_;
    std::unique_ptr<TlsClientSession> tls_;  // per connection
    std::string plain_pending_;              // written before the handshake finished
    std::string plain_in_;                   // decrypted, handed to the listener
};

// Builds a sockaddr for a numeric loopback endpoint; nullopt if `ip` is not numeric.
std::optional<sockaddr_storage> make_sockaddr(const std::string& ip, uint16_t port, bool ipv6);

// "ECONNREFUSED (connection refused)".
std::string uv_error_text(int status);

}  // namespace sluice::bench
