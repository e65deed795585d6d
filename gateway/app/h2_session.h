// The HTTP/2 session of one client connection: an nghttp2 server session (it does all the
// framing, HPACK, flow control and the protocol's own checks) between the connection's
// bytes and its streams (H2Stream, one pipeline::Request each). Started by the
// Connection when ALPN picks "h2" on a TLS listener, or when a plain listener with
// `http2: true` sees the connection preface (h2c with prior knowledge).
//
//   Connection bytes --feed()--> nghttp2_session_mem_recv --callbacks--> H2Stream
//   H2Stream::write --want_send()--> end of turn: flush_now() --mem_send--> Connection
//
// Output is pulled, not pushed: at the end of each loop turn the session asks nghttp2
// for frames while the connection's unsent bytes are under its budget, and goes on when
// they drain (on_output_drained). A stream's DATA wait in the stream's own queue.
//
// Limits and the known HTTP/2 attacks (docs/tls.md): max concurrent streams and header
// list size in our SETTINGS; nghttp2's SETTINGS-entries, outbound-ACK (PING/SETTINGS
// flood), CONTINUATION and reset-rate limits; our own count of client RST_STREAMs and of
// PING/SETTINGS frames per window (GOAWAY ENHANCE_YOUR_CALM past it); a stream, or the
// connection, stalled at a zero window with data waiting for longer than idle_timeout
// is reset (or ended with GOAWAY); a connection with no stream for idle_timeout ends.
//
// Owned by its Connection, which outlives it; every stream is closed (on_closed) before
// the session is destroyed.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/core/rate_window.h"
#include "gateway/core/timer_wheel.h"
#include "gateway/loop/dispatcher.h"

namespace sluice::app {

class H2Stream;
class Worker;

// The data source (nghttp2_data_provider::read_callback) of every response body: the
// stream's own queue (H2Stream::read_body).
ssize_t h2_read_body_cb(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                        uint32_t* data_flags, nghttp2_data_source* source, void* user_data) noexcept;

class H2Session final : private loop::Flushable {
  public:
    // The connection under the session.
    class Transport {
      public:
        virtual void send_wire(std::string bytes) = 0;  // queued, written at the end of the turn
        virtual uint64_t wire_unsent() const = 0;
        virtual uint64_t wire_high_water() const = 0;
        // The session is over: send what is queued (a GOAWAY), then close.
        virtual void end_transport() = 0;

      protected:
        ~Transport() = default;
    };

    // `secure`: the connection is TLS (its streams' X-Forwarded-Proto is https).
    H2Session(Worker& worker, Transport& transport, std::string remote, bool secure, bool admin_listener);
    ~H2Session();
    H2Session(const H2Session&) = delete;
    H2Session& operator=(const H2Session&) = delete;

    // Our SETTINGS go out; false when nghttp2 could not start (the caller closes).
    bool start();
    // Bytes from the client (after TLS). Protocol errors end the session (GOAWAY).
    void feed(const char* data, size_t len);
    // The connection's unsent bytes fell: more frames may go.
    void on_output_drained();
    // Shutdown: GOAWAY (no new streams), then every stream's answer ends (SSE streams
    // after their place in drain_pace); the connection closes when the last one has.
    void drain(uint64_t stream_delay_ms);
    // The connection is closing under the session: every stream stops now.
    void close_all();
    bool over() const { return over_; }

    // --- For H2Stream ------------------------------------------------------------------------
    Worker& worker() { return worker_; }
    const std::string& remote() const { return remote_; }
    bool secure() const { return secure_; }
    bool admin_listener() const { return admin_listener_; }
    nghttp2_session* nghttp2() { return session_; }
    // A stream queued output (or ended): its data source resumes, a send pass follows.
    void resume_stream(int32_t id);
    void want_send();
    // RST_STREAM with `error_code`; `reason` is the metric label.
    void reset_stream(int32_t id, uint32_t error_code, std::string_view reason);
    // Flow control: the application took `n` body bytes of stream `id`.
    void consume(int32_t id, size_t n);
    // A stream whose queue fell to its low watermark during this send pass.
    void stream_drained(int32_t id) { drained_.push_back(id); }

    // nghttp2 callbacks (trampolines in h2_session.cc forward here).
    int on_begin_headers(const nghttp2_frame* frame);
    int on_header(const nghttp2_frame* frame, std::string_view name, std::string_view value);
    int on_frame_recv(const nghttp2_frame* frame);
    int on_data_chunk(int32_t stream_id, const uint8_t* data, size_t len);
    int on_stream_close(int32_t stream_id, uint32_t error_code);
    int on_frame_send(const nghttp2_frame* frame);

  private:
    void flush_now() override;  // the send pass
    void goaway(uint32_t error_code, std::string_view reason);
    void end_session();
    void fail(std::string_view what, int rc);  // nghttp2 reported a fatal error
    H2Stream* find(int32_t id);
    void arm_timer();
    void on_timer();
    static void timer_cb(void* self) noexcept;
    void check_stalls(uint64_t now);

    Worker& worker_;
    Transport& transport_;
    std::string remote_;
    bool secure_;
    bool admin_listener_;
    nghttp2_session* session_ = nullptr;
    std::unordered_map<int32_t, std::unique_ptr<H2Stream>> streams_;
    std::vector<int32_t> drained_;
    RateWindow client_resets_;
    RateWindow control_frames_;  // PING and SETTINGS from the client
    TimerWheel::Entry timer_;
    uint64_t idle_since_ = 0;
    uint64_t conn_stalled_since_ = 0;
    bool draining_ = false;
    bool over_ = false;  // GOAWAY decided or the session failed: the connection ends
    bool counted_ = false;
    bool goaway_counted_ = false;
};

}  // namespace sluice::app
