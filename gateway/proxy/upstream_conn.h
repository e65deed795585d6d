// One TCP connection to an upstream server: connect (with a timeout), write a request
// through its net::TcpStream, and parse the response, handing each part to the Listener
// that is using the connection. On an upstream with `tls`, a tls::Session (client side)
// sits between the stream and the parser both ways: the connection counts as connected
// (on_upstream_connected) once the TLS handshake is done, and connect_timeout covers the
// TCP connect and the handshake together; a failed handshake or certificate check is
// Failure::Tls. Between requests it waits in its Pool (idle timeout,
// closed when the server closes it). Owned by its Pool, which destroys it through the
// loop's dispatcher once the socket has closed; close() is idempotent and silences the
// listener.
//
//   connect --ok--> Ready(busy) --response end--> Pool::release --> Ready(idle) --> busy ...
//      \--error/timeout--> Closing             any error --> Closing (listener told once)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/timer_wheel.h"
#include "gateway/http/response_parser.h"
#include "gateway/net/tcp_stream.h"
#include "gateway/proxy/loop_context.h"
#include "gateway/tls/session.h"

namespace sluice::proxy {

class Pool;

enum class Failure {
    Refused,         // connect failed
    ConnectTimeout,  // connect took longer than connect_timeout
    Reset,           // read or write error
    Closed,          // the server closed the connection inside a response
    Timeout,         // no progress for read_timeout (decided by the user of the connection)
    Protocol,        // the response could not be parsed
    Tls,             // TLS handshake failed (certificate not trusted, wrong name, not TLS, ...)
};
const char* failure_name(Failure f);

class UpstreamConn final : private net::TcpStream::Handler, private tls::Session::Handler {
  public:
    // Whoever uses the connection for the current request. Every call may close the
    // connection or release it to the pool; the connection checks before going on.
    class Listener {
      public:
        virtual void on_upstream_connected() = 0;
        // The final response head (interim 1xx heads are skipped), once the rest of the
        // bytes read with it have parsed; a response broken within that read is reported
        // only as on_upstream_failed, without a head.
        virtual void on_upstream_head(const http::ResponseInfo& head) = 0;
        virtual void on_upstream_body(std::string_view bytes) = 0;
        // The response ended. `reusable`: the server keeps the connection open and sent
        // nothing after the response.
        virtual void on_upstream_end(bool reusable) = 0;
        // Queued request bytes fell to the low watermark.
        virtual void on_upstream_drained() = 0;
        // The connection failed and is closing; it must not be used again.
        virtual void on_upstream_failed(Failure why, std::string_view detail) = 0;

      protected:
        ~Listener() = default;
    };

    UpstreamConn(LoopContextPtr ctx, std::shared_ptr<Pool> pool, size_t server);
    ~UpstreamConn();
    UpstreamConn(const UpstreamConn&) = delete;
    UpstreamConn& operator=(const UpstreamConn&) = delete;

    // Starts connecting; false (and the connection closes) if it cannot even start.
    bool connect(const sockaddr* addr, uint64_t timeout_ms);
    void set_listener(Listener* l) { listener_ = l; }
    // Prepares for a new response: `head_request` when the request is HEAD (no body).
    void begin_request(bool head_request);
    // Queues request bytes; they leave at the end of the loop turn, as the socket takes them.
    void send(std::string bytes);
    uint64_t pending_bytes() const { return stream_.unsent_bytes(); }
    void set_low_watermark(uint64_t n) { low_water_ = n; }
    // Counted: two pauses need two resumes.
    void pause_reading();
    void resume_reading();
    // Waits in the pool: the idle timer runs and the listener is gone.
    void park(uint64_t idle_timeout_ms);
    void close();

    size_t server() const { return server_; }
    bool connected() const { return state_ == State::Ready; }
    bool closing() const { return state_ == State::Closing; }
    bool reused() const { return requests_ > 1; }
    bool response_started() const { return response_bytes_ > 0; }

  private:
    enum class State { Connecting, Ready, Closing };
    // net::TcpStream::Handler
    void on_stream_connected() override;
    void on_stream_data(const char* data, size_t len) override;
    void on_stream_eof() override;
    void on_stream_error(const net::StreamError& e) override;
    void on_write_progress() override;
    void on_stream_closed() override;
    // tls::Session::Handler
    void on_tls_established(const tls::HandshakeInfo& info) override;
    void on_tls_plaintext(const char* data, size_t len) override;
    void on_tls_peer_closed() override;
    void move_tls_output();
    void established();

    void on_timer();
    static void timer_cb(void* self) noexcept;
    void process(const char* data, size_t len);
    void fail(Failure why, std::string_view detail);

    LoopContextPtr ctx_;
    std::shared_ptr<Pool> pool_;
    size_t server_;
    net::TcpStream stream_;
    std::unique_ptr<tls::Session> tls_;  // null on a plain upstream
    State state_ = State::Connecting;
    Listener* listener_ = nullptr;
    http::ResponseParser parser_;
    TimerWheel::Entry timer_;
    uint64_t low_water_ = 64 * 1024;
    uint64_t requests_ = 0;
    uint64_t response_bytes_ = 0;
    bool tcp_connected_ = false;  // with tls: the handshake is what is left of connecting
};

}  // namespace sluice::proxy
