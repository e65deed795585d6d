// One TCP connection's socket, for client connections (app/connection) and upstream
// connections (proxy/upstream_conn) alike: reads with counted pauses, a write queue of
// shared bytes, watermarks, and close with an explicit type.
//
// Writing: write() queues; at the end of the loop turn (the dispatcher's flush list) the
// queue is offered to the kernel with uv_try_write (or, with the dispatcher's batch sender,
// in the turn's io_uring batch), and only what it refuses goes into one uv_write (at most
// one in flight). unsent_bytes() is everything written and not yet
// taken; refused_bytes() the part the kernel has already refused (not what was queued
// this turn).
//
// Lifecycle (the owner is the Handler; it destroys the stream, through the dispatcher's
// deferred delete, only after on_stream_closed):
//
//   open / accept() / connect() --> Open --close(Abort)---------------------> Closing --> closed
//                                      \--close(AfterFlush)--> Flushing --(queue empty,
//                                            FIN sent, reads go on)-- close(Abort) / EOF -->
//
// Every Handler call made from a libuv callback is guarded: an exception becomes
// on_stream_error (exception = true), after which the stream is aborted. Errors of
// reads, writes and connects are reported the same way.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/shared_bytes.h"
#include "gateway/loop/dispatcher.h"

namespace sluice::net {

enum class CloseType {
    AfterFlush,  // write everything queued, send FIN, keep reading until the owner aborts
    Abort,       // close now; what is queued is dropped
};

struct StreamError {
    enum class Phase { Connect, Read, Write };
    Phase phase = Phase::Read;
    int code = 0;            // libuv error code; 0 when a handler threw
    bool exception = false;  // a Handler callback threw
    std::string detail;      // uv_strerror() or the exception's what()
};

class TcpStream final : private loop::Flushable {
  public:
    class Handler {
      public:
        virtual void on_stream_connected() {}
        // Bytes read; valid only during the call.
        virtual void on_stream_data(const char* data, size_t len) = 0;
        // The peer closed its side. The stream stays open until the owner closes it.
        virtual void on_stream_eof() = 0;
        // A connect, read or write failed, or a Handler callback threw. The stream is
        // aborted after this returns (if the handler has not closed it already).
        virtual void on_stream_error(const StreamError& e) = 0;
        // The kernel took queued bytes: a uv_write completed, or a flush wrote everything.
        virtual void on_write_progress() {}
        // unsent_bytes() reached the high watermark; reported at the next flush.
        virtual void on_high_watermark() {}
        // ... and then fell to the low watermark. Once per crossing each.
        virtual void on_low_watermark() {}
        // close(AfterFlush): everything is written and FIN was sent.
        virtual void on_output_shut_down() {}
        // The handle is closed; no more calls. The owner may now destroy the stream.
        virtual void on_stream_closed() = 0;

      protected:
        ~Handler() = default;
    };

    TcpStream(loop::Dispatcher& dispatcher, Handler& handler);
    ~TcpStream();
    TcpStream(const TcpStream&) = delete;
    TcpStream& operator=(const TcpStream&) = delete;

    // Opening: exactly one of these, once. False when it failed (the stream is then
    // closing, on_stream_closed follows; no on_stream_error).
    bool accept(uv_stream_t* listener);
    bool open_fd(uv_os_sock_t fd);  // tests: one end of a socketpair
    // on_stream_connected, or on_stream_error (Phase::Connect), follows.
    bool connect(const sockaddr* addr);

    std::string peer_ip() const;  // "?" when unknown
    void set_nodelay(bool on);
    void set_keepalive(bool on, unsigned delay_s);

    // Reading starts with start_reading() and stops while any pause is held.
    void start_reading();
    void pause_reading();   // counted: two pauses need two resumes
    void resume_reading();
    int read_pauses() const { return read_pauses_; }
    void clear_read_pauses();  // read again whatever was paused (lingering before close)

    void write(SharedBytes bytes);
    void write(std::string bytes);
    // Offers the queue to the kernel now instead of at the end of the turn.
    void flush_now() override;
    // The dispatcher's batched flush (loop/batch_sender.h).
    int offer(std::vector<iovec>& iov) override;
    void offered(long result, size_t count) override;
    uint64_t unsent_bytes() const { return unsent_; }
    uint64_t refused_bytes() const;
    void set_watermarks(uint64_t high, uint64_t low);

    void close(CloseType how);
    bool open() const { return state_ == State::Open; }
    bool closing() const { return state_ == State::Closing || state_ == State::Closed; }

  private:
    friend struct StreamCallbacks;
    friend struct WriteReq;
    enum class State { Idle, Connecting, Open, Flushing, Closing, Closed };

    template <class F>
    void guarded(StreamError::Phase phase, F&& f);
    void fail(StreamError e);
    // try_first: offer the queue to the kernel before queueing a uv_write (false when the
    // kernel has just refused it).
    void write_out(bool try_first = true);
    // `written` bytes of the first `n` queued buffers were taken; false when the last of
    // them was taken only in part (its tail stays queued).
    bool take_written(size_t written, size_t n);
    // The queue is empty and nothing is in flight: tell the handler, shut down if asked.
    void all_written();
    void on_write_done(int status, uint64_t bytes);
    void check_watermarks();
    void maybe_shut_down();
    void update_reading();
    void begin_close();
    void on_read(ssize_t nread, const uv_buf_t* buf);
    void on_connect(int status);
    void on_closed();

    loop::Dispatcher& dispatcher_;
    Handler& handler_;
    uv_tcp_t tcp_;
    // Only for outgoing connections (upstreams), so an accepted client's stream does not
    // carry it (96 bytes per connection).
    std::unique_ptr<uv_connect_t> connect_req_;
    State state_ = State::Idle;
    std::vector<SharedBytes> queued_;
    uint64_t unsent_ = 0;     // queued + in flight
    uint64_t fresh_ = 0;      // queued since the last write attempt (not yet offered)
    uint64_t in_flight_ = 0;  // bytes of the uv_write in flight
    bool write_in_flight_ = false;
    // Between offer() and offered(): the front buffers are in the kernel's hands already,
    // so a flush_now() from a callback meanwhile must not send them again.
    bool offer_pending_ = false;
    uint64_t high_ = UINT64_MAX;
    uint64_t low_ = 0;
    bool above_high_ = false;
    bool high_unreported_ = false;
    bool wants_reading_ = false;
    bool reading_ = false;
    int read_pauses_ = 0;
    bool shutdown_sent_ = false;
};

}  // namespace sluice::net
