// TLS between a client's net::TcpStream and the HTTP session above it: the transport of
// a connection accepted on a `tls:` listener. Ciphertext read from the stream goes in
// (feed), plaintext comes out to the Upper (the HTTP session); plaintext the session
// writes is encrypted and queued on the same stream, whose unsent_bytes() and
// watermarks then count the ciphertext: the output budget of a TLS connection is the
// stream's, exactly as for plain TCP (the session's own buffer is emptied into the
// stream after every call, so it never holds more than one write's records).
//
//   TcpStream ──on_stream_data──▶ feed() ─▶ tls::Session ─▶ Upper::on_tls_established (ALPN)
//                                                       └─▶ Upper::on_tls_plaintext
//                                                       └─▶ Upper::on_tls_peer_closed
//   TcpStream ◀── ciphertext ─── write(plaintext) / shutdown() (close_notify)
//
// A plain connection has no TlsLayer at all: its writes go straight to the stream (no
// copy, no allocation, one branch). The Upper picks its HTTP session by the ALPN the
// handshake settled on (h2: app/h2_session.h).
#pragma once

#include <string_view>

#include "gateway/net/tcp_stream.h"
#include "gateway/tls/session.h"

namespace sluice::app {

class TlsLayer final : private tls::Session::Handler {
  public:
    class Upper {
      public:
        virtual void on_tls_established(const tls::HandshakeInfo& info) = 0;
        // Decrypted bytes; valid only during the call.
        virtual void on_tls_plaintext(const char* data, size_t len) = 0;
        // The client sent close_notify: it sends nothing more (like EOF on TCP).
        virtual void on_tls_peer_closed() = 0;

      protected:
        ~Upper() = default;
    };

    TlsLayer(tls::ServerContextPtr context, net::TcpStream& stream, Upper& upper);

    // Ciphertext read from the stream. What the session answers (handshake flights,
    // tickets, an alert) is queued on the stream. False when the session has failed
    // (failure() says why); the caller closes.
    bool feed(const char* data, size_t len);
    // Plaintext to send, encrypted onto the stream (any size: cut into pieces the
    // session's budget takes). False (nothing sent) once failed or shut down.
    bool write(std::string_view plaintext);
    // close_notify onto the stream (once; only after the handshake).
    void shutdown();

    bool established() const { return session_.established(); }
    const std::optional<tls::Failure>& failure() const { return session_.failure(); }

  private:
    void on_tls_established(const tls::HandshakeInfo& info) override { upper_.on_tls_established(info); }
    void on_tls_plaintext(const char* data, size_t len) override { upper_.on_tls_plaintext(data, len); }
    void on_tls_peer_closed() override { upper_.on_tls_peer_closed(); }
    void move_output();  // the session's ciphertext onto the stream

    net::TcpStream& stream_;
    Upper& upper_;
    tls::Session session_;
};

}  // namespace sluice::app
