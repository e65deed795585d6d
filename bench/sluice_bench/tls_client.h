// The client end of TLS for the bench's connections, on memory BIOs: the TCP client moves
// ciphertext between the socket and this object, the stream above sees plaintext. The
// certificate is not verified (the bench only talks to loopback servers it started, with
// throwaway certificates); what the measurement needs is the server's cost of a real
// handshake and of encrypting every event. A fresh session per connection (no resumption),
// so every reconnect pays a full handshake, as a browser's first visit does.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

namespace sluice::bench {

// One SSL_CTX for the whole run. `alpn` is the protocol offered ("http/1.1" or "h2").
class TlsClientContext {
public:
    explicit TlsClientContext(const std::string& alpn);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;
    SSL_CTX* get() const { return ctx_; }

private:
    SSL_CTX* ctx_ = nullptr;
};

class TlsClientSession {
public:
    TlsClientSession(const TlsClientContext& ctx, const std::string& server_name);
    ~TlsClientSession();
    TlsClientSession(const TlsClientSession&) = delete;
    TlsClientSession& operator=(const TlsClientSession&) = delete;

    enum class Step { NeedMore, Done, Failed };
    // Starts (or continues) the handshake; ciphertext to send collects in take_output().
    Step handshake();
    bool established() const { return established_; }

    // Ciphertext from the socket. Plaintext it carries is appended to *plain. False on a
    // TLS error (error() says which).
    bool feed(std::string_view cipher, std::string* plain);
    // Plaintext to send; its ciphertext collects in take_output().
    bool write(std::string_view plain);
    // Ciphertext waiting to be written to the socket (emptied by the call).
    std::string take_output();

    const std::string& error() const { return error_; }
    SSL* ssl() const { return ssl_; }

private:
    bool fail(const char* what);

    SSL* ssl_ = nullptr;
    BIO* in_ = nullptr;   // socket -> SSL
    BIO* out_ = nullptr;  // SSL -> socket
    bool established_ = false;
    std::string error_;
};

}  // namespace sluice::bench
