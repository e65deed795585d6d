#include "bench/sluice_bench/tls_client.h"

#include <openssl/err.h>

#include <stdexcept>

namespace sluice::bench {

TlsClientContext::TlsClientContext(const std::string& alpn) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) throw std::runtime_error("SSL_CTX_new failed");
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    // ALPN wire format: one length byte per protocol name.
    std::string wire(1, static_cast<char>(alpn.size()));
    wire += alpn;
    SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

TlsClientSession::TlsClientSession(const TlsClientContext& ctx, const std::string& server_name) {
    ssl_ = SSL_new(ctx.get());
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    if (!ssl_ || !in_ || !out_) throw std::runtime_error("SSL_new failed");
    BIO_set_mem_eof_return(in_, -1);  // an empty input BIO means "more to come", not EOF
    SSL_set_bio(ssl_, in_, out_);     // the SSL owns both BIOs from here
    SSL_set_connect_state(ssl_);
    if (!server_name.empty()) SSL_set_tlsext_host_name(ssl_, server_name.c_str());
}

TlsClientSession::~TlsClientSession() { SSL_free(ssl_); }

bool TlsClientSession::fail(const char* what) {
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    error_ = std::string(what) + ": " + (e ? buf : "connection closed");
    ERR_clear_error();
    return false;
}

TlsClientSession::Step TlsClientSession::handshake() {
    if (established_) return Step::Done;
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) {
        established_ = true;
        return Step::Done;
    }
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Step::NeedMore;
    fail("TLS handshake");
    return Step::Failed;
}

bool TlsClientSession::feed(std::string_view cipher, std::string* plain) {
    if (!cipher.empty() && BIO_write(in_, cipher.data(), static_cast<int>(cipher.size())) <= 0)
        return fail("BIO_write");
    if (!established_) {
        Step s = handshake();
        if (s == Step::Failed) return false;
        if (s == Step::NeedMore) return true;
    }
    char buf[16 * 1024];
    for (;;) {
        int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) {
            plain->append(buf, static_cast<std::size_t>(n));
            continue;
        }
        int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
        if (err == SSL_ERROR_ZERO_RETURN) return true;  // close_notify: the TCP end follows
        return fail("TLS read");
    }
}

bool TlsClientSession::write(std::string_view plain) {
    while (!plain.empty()) {
        int n = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
        if (n <= 0) return fail("TLS write");
        plain.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string TlsClientSession::take_output() {
    std::string out;
    char* data = nullptr;
    long n = BIO_get_mem_data(out_, &data);
    if (n > 0) out.assign(data, static_cast<std::size_t>(n));
    (void)BIO_reset(out_);
    return out;
}

}  // namespace sluice::bench
