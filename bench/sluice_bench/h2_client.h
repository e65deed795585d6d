// HTTP/2 for the bench's subscribers. An H2Connection is one TCP connection (TLS with ALPN
// h2 for https://, prior knowledge for http://) carrying many SSE streams through
// nghttp2's client session. An H2StreamClient is one stream of it, which its subscriber uses
// like a connection of its own: open() joins the connection (connecting it if needed),
// write() takes the HTTP/1.1 request the subscriber wrote and submits it as HTTP/2 headers,
// the response comes back as an HTTP/1.1 head followed by the body's bytes, and the
// stream's end as UV_EOF. So the subscriber's parsers, resumption and counting are the same
// code for both protocols. Loop thread only.
#pragma once

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/sluice_bench/stream_client.h"
#include "bench/sluice_bench/tcp_client.h"

namespace sluice::bench {

class H2Connection;

class H2StreamClient final : public StreamClient {
public:
    H2StreamClient(H2Connection& conn, ClientListener& listener) : conn_(conn), listener_(listener) {}
    H2StreamClient(const H2StreamClient&) = delete;
    H2StreamClient& operator=(const H2StreamClient&) = delete;

    void open(const sockaddr_storage& dest, std::optional<uint32_t> source_ip) override;
    void write(std::string_view request) override;
    void close() override;
    void stop_reading() override {}  // refused at option parsing (--stalled-fraction)

private:
    friend class H2Connection;
    enum class State : uint8_t { Idle, Waiting, Open, Closing };

    H2Connection& conn_;
    ClientListener& listener_;
    State state_ = State::Idle;
    int32_t stream_id_ = 0;  // 0: no HTTP/2 stream (yet, or any more)
    int status_ = 0;
    std::string head_;       // response headers, as HTTP/1.1 header lines
};

class H2Connection final : public ClientListener {
public:
    // tls: nullptr for h2c. authority_scheme: "https" or "http".
    H2Connection(uv_loop_t* loop, const TlsClientContext* tls, std::string sni, std::string scheme);
    ~H2Connection() override;
    H2Connection(const H2Connection&) = delete;
    H2Connection& operator=(const H2Connection&) = delete;

    // End of the run: closes the timer handle (the TCP handle closes with its streams).
    void shutdown();

private:
    friend class H2StreamClient;
    void attach(H2StreamClient& s, const sockaddr_storage& dest, std::optional<uint32_t> src);
    void submit(H2StreamClient& s, std::string_view request);
    void cancel(H2StreamClient& s);

    // ClientListener, for the TCP/TLS connection underneath.
    void on_connected() override;
    void on_data(std::string_view bytes) override;
    void on_failed(int uv_status) override;
    void on_closed() override;

    void flush();
    void fail_all(int uv_status);
    // on_closed runs on a later loop turn, never inside nghttp2's callbacks.
    void close_later(H2StreamClient& s);
    static void timer_cb(uv_timer_t* t) noexcept;
    H2StreamClient* stream(int32_t id);

    static int on_header_cb(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                            size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                            void* self) noexcept;
    static int on_frame_recv_cb(nghttp2_session*, const nghttp2_frame* frame, void* self) noexcept;
    static int on_data_chunk_cb(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data,
                                size_t len, void* self) noexcept;
    static int on_stream_close_cb(nghttp2_session*, int32_t id, uint32_t, void* self) noexcept;

    uv_loop_t* loop_;
    TcpClient tcp_;
    bool tls_;
    std::string scheme_;
    nghttp2_session* session_ = nullptr;
    sockaddr_storage dest_{};
    std::optional<uint32_t> src_;
    std::vector<H2StreamClient*> waiting_;  // joined before the session was up
    std::unordered_map<int32_t, H2StreamClient*> streams_;
    std::vector<H2StreamClient*> closing_;
    uv_timer_t timer_{};
    bool timer_open_ = false;
};

}  // namespace sluice::bench
