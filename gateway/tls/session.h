// Session: the TLS state machine of one server-side connection, on memory BIOs. It does
// no I/O: the carrier (the connection, once wired) feeds it the bytes it read from the
// socket and sends what take_output() hands back. No sockets, no libuv, so it is tested
// in-process against a real OpenSSL client and fuzzed as is.
//
//   carrier                          Session                           Handler
//   feed(ciphertext) ─────────────▶  handshake ─── done ──────────────▶ on_tls_established
//                                    records ───── plaintext ─────────▶ on_tls_plaintext
//                                    close_notify ────────────────────▶ on_tls_peer_closed
//   take_output() ◀── ciphertext ──  (handshake flights, records, alerts, close_notify)
//   write(plaintext) ─────────────▶  records
//   shutdown() ───────────────────▶  close_notify
//
// States: Handshaking --handshake done--> Established; either --error--> Failed (for
// good: failure() says why, take_output() may still hold the alert to send before
// closing). shutdown() and the peer's close_notify are flags on top, not states.
//
// Bounded: input is consumed whole by every feed() (only a partial record, at most one
// record of ~16 KiB, waits for more); output waits in one buffer the carrier drains after
// each call, and write() refuses to let it grow past max_output; plaintext written before
// the handshake completes is held up to kMaxEarlyPlaintext.
//
// Handler calls are made from feed() only, never from inside OpenSSL. A handler may call
// write() and shutdown() but must not destroy the Session or call feed().
//
// The same machine runs the client side of sluice's connections to TLS upstreams (built
// from a ClientContext and the name to verify): start() puts the ClientHello in
// take_output(), and a failed certificate check is a BadCertificate failure whose detail
// says why ("certificate verify failed: hostname mismatch").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/tls/client_context.h"
#include "gateway/tls/failure.h"
#include "gateway/tls/openssl_ptr.h"
#include "gateway/tls/server_context.h"

namespace sluice::tls {

inline constexpr size_t kMaxEarlyPlaintext = 64 * 1024;
inline constexpr size_t kDefaultMaxOutput = 4 * 1024 * 1024;

struct HandshakeInfo {
    std::string alpn;         // "h2", "http/1.1", or "" when the client sent no ALPN
    std::string version;      // "TLSv1.3", "TLSv1.2"
    std::string server_name;  // the client's SNI name, "" without one
    std::string cipher;       // OpenSSL's name of the suite
    bool resumed = false;     // by session ticket
};

class Session {
  public:
    class Handler {
      public:
        virtual void on_tls_established(const HandshakeInfo& info) = 0;
        // Decrypted application data; valid only during the call.
        virtual void on_tls_plaintext(const char* data, size_t len) = 0;
        // The client sent close_notify: it will send nothing more. Writing is still
        // possible (a carrier usually finishes its answer and calls shutdown()).
        virtual void on_tls_peer_closed() {}

      protected:
        ~Handler() = default;
    };

    enum class State { Handshaking, Established, Failed };

    Session(ServerContextPtr context, Handler& handler, size_t max_output = kDefaultMaxOutput);
    // Client side, to a server called `server_name` (SNI and the verified name; see
    // ClientContext::new_ssl). Nothing happens until start().
    Session(ClientContextPtr context, std::string_view server_name, Handler& handler,
            size_t max_output = kDefaultMaxOutput);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Client side: begins the handshake (the ClientHello is in take_output() after).
    // False when the session has failed.
    bool start();

    // Ciphertext read from the transport. False when the session has failed (now or
    // earlier); failure() says why. Bytes after a failure are ignored.
    bool feed(const char* data, size_t len);

    // Plaintext to send; its records are in take_output() when this returns. Before the
    // handshake completes it is held and sent right after. False (nothing taken) when
    // the session failed, shutdown() was called, or the output or early budget is full.
    bool write(std::string_view plaintext);

    // Sends close_notify (once); write() refuses afterwards.
    void shutdown();

    // The ciphertext waiting to be sent, moved out (empty when none).
    std::string take_output();
    size_t output_bytes() const;

    State state() const { return state_; }
    bool established() const { return state_ == State::Established; }
    bool failed() const { return state_ == State::Failed; }
    const std::optional<Failure>& failure() const { return failure_; }
    const HandshakeInfo& info() const { return info_; }  // set once established
    bool peer_closed() const { return peer_closed_; }
    bool shut_down() const { return sent_close_; }
    const ServerContext& context() const { return *context_; }  // server side only
    bool client() const { return client_context_ != nullptr; }

  private:
    void attach_bios();
    bool advance_handshake();  // false on failure
    bool read_records();       // false on failure
    bool encrypt(std::string_view plaintext);
    bool fail(Failure f);
    bool fail_from_openssl();

    ServerContextPtr context_;  // kept alive for the whole session (reload-safe)
    ClientContextPtr client_context_;  // instead, on the client side
    Handler& handler_;
    size_t max_output_;
    SslPtr ssl_;
    BIO* in_ = nullptr;   // owned by ssl_
    BIO* out_ = nullptr;  // owned by ssl_
    State state_ = State::Handshaking;
    bool seen_bytes_ = false;
    bool peer_closed_ = false;
    bool sent_close_ = false;
    std::string early_plaintext_;
    std::optional<Failure> failure_;
    HandshakeInfo info_;
};

}  // namespace sluice::tls
