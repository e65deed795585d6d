#include "gateway/tls/session.h"

#include <openssl/err.h>

#include <algorithm>
#include <climits>

namespace sluice::tls {
namespace {

constexpr size_t kReadChunk = 16 * 1024;  // one TLS record's plaintext at most
constexpr size_t kWriteChunk = 1024 * 1024;

}  // namespace

Session::Session(ServerContextPtr context, Handler& handler, size_t max_output)
    : context_(std::move(context)), handler_(handler), max_output_(max_output) {
    ssl_.reset(context_->new_ssl());
    attach_bios();
    if (ssl_) SSL_set_accept_state(ssl_.get());
}

Session::Session(ClientContextPtr context, std::string_view server_name, Handler& handler,
                 size_t max_output)
    : client_context_(std::move(context)), handler_(handler), max_output_(max_output) {
    ssl_.reset(client_context_->new_ssl(server_name));  // already in connect state
    attach_bios();
}

void Session::attach_bios() {
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    if (!ssl_ || !in_ || !out_) {
        BIO_free(in_);
        BIO_free(out_);
        in_ = out_ = nullptr;
        ssl_.reset();
        fail(Failure{FailureReason::Other, "cannot create a TLS session (out of memory)"});
        return;
    }
    // A drained memory BIO reports "retry" rather than EOF: more may come.
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_.get(), in_, out_);
}

bool Session::start() {
    if (state_ != State::Handshaking) return state_ != State::Failed;
    return advance_handshake();
}

Session::~Session() = default;

bool Session::fail(Failure f) {
    if (state_ != State::Failed) {
        state_ = State::Failed;
        failure_ = std::move(f);
    }
    return false;
}

bool Session::fail_from_openssl() {
    Failure f = classify_openssl_error();
    if (client() && client_context_->verifies() && state_ == State::Handshaking) {
        long verify = SSL_get_verify_result(ssl_.get());
        if (verify != X509_V_OK) {
            f.reason = FailureReason::BadCertificate;
            f.detail = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
        }
    }
    return fail(std::move(f));
}

bool Session::feed(const char* data, size_t len) {
    if (state_ == State::Failed) return false;
    if (len == 0) return true;
    if (!seen_bytes_) {
        seen_bytes_ = true;
        // Caught before OpenSSL sees it: an alert would be noise to a plaintext client,
        // and the carrier may want to answer it in plaintext before closing.
        if (looks_like_plaintext_http(static_cast<unsigned char>(data[0])))
            return fail(Failure{FailureReason::NotTls, client() ? "the server answered in plaintext HTTP, not TLS"
                                                                : "plaintext HTTP on a TLS port"});
    }
    while (len > 0) {
        int n = static_cast<int>(std::min<size_t>(len, INT_MAX));
        if (BIO_write(in_, data, n) != n) return fail(Failure{FailureReason::Other, "out of memory"});
        data += n;
        len -= static_cast<size_t>(n);
    }
    if (state_ == State::Handshaking && !advance_handshake()) return false;
    if (state_ == State::Established) return read_records();
    return true;
}

bool Session::advance_handshake() {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_.get());
    if (r != 1) {
        int err = SSL_get_error(ssl_.get(), r);
        if (err == SSL_ERROR_WANT_READ) return true;
        return fail_from_openssl();
    }
    state_ = State::Established;
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl_.get(), &alpn, &alpn_len);
    info_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn ? alpn_len : 0);
    info_.version = SSL_get_version(ssl_.get());
    const char* sni = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
    info_.server_name = sni ? sni : "";
    info_.cipher = SSL_get_cipher_name(ssl_.get());
    info_.resumed = SSL_session_reused(ssl_.get()) == 1;
    handler_.on_tls_established(info_);
    if (state_ == State::Established && !early_plaintext_.empty() && !sent_close_) {
        std::string early = std::move(early_plaintext_);
        early_plaintext_.clear();
        if (!encrypt(early)) return false;
    }
    return state_ != State::Failed;
}

bool Session::read_records() {
    char buf[kReadChunk];
    while (state_ == State::Established && !peer_closed_) {
        ERR_clear_error();
        size_t got = 0;
        int r = SSL_read_ex(ssl_.get(), buf, sizeof(buf), &got);
        if (r == 1) {
            handler_.on_tls_plaintext(buf, got);
            continue;
        }
        int err = SSL_get_error(ssl_.get(), r);
        if (err == SSL_ERROR_WANT_READ) return true;
        if (err == SSL_ERROR_ZERO_RETURN) {
            peer_closed_ = true;
            handler_.on_tls_peer_closed();
            return state_ != State::Failed;
        }
        return fail_from_openssl();
    }
    return state_ != State::Failed;
}

bool Session::encrypt(std::string_view plaintext) {
    while (!plaintext.empty()) {
        size_t n = std::min(plaintext.size(), kWriteChunk);
        size_t written = 0;
        ERR_clear_error();
        // A memory BIO always takes everything, so a write is never partial.
        if (SSL_write_ex(ssl_.get(), plaintext.data(), n, &written) != 1 || written != n)
            return fail_from_openssl();
        plaintext.remove_prefix(n);
    }
    return true;
}

bool Session::write(std::string_view plaintext) {
    if (state_ == State::Failed || sent_close_) return false;
    if (plaintext.empty()) return true;
    if (state_ == State::Handshaking) {
        if (early_plaintext_.size() + plaintext.size() > kMaxEarlyPlaintext) return false;
        early_plaintext_.append(plaintext);
        return true;
    }
    if (output_bytes() + plaintext.size() > max_output_) return false;
    return encrypt(plaintext);
}

void Session::shutdown() {
    if (sent_close_ || state_ == State::Failed) return;
    sent_close_ = true;
    early_plaintext_.clear();
    if (state_ != State::Established) return;  // nothing to close politely yet
    ERR_clear_error();
    // Returns 0 (sent, the peer's not yet seen) or 1; either way close_notify is in out_.
    if (SSL_shutdown(ssl_.get()) < 0) ERR_clear_error();
}

size_t Session::output_bytes() const { return out_ ? BIO_ctrl_pending(out_) : 0; }

std::string Session::take_output() {
    std::string out;
    size_t n = output_bytes();
    if (n == 0) return out;
    out.resize(n);
    size_t got = 0;
    if (BIO_read_ex(out_, out.data(), n, &got) != 1) got = 0;
    out.resize(got);
    return out;
}

}  // namespace sluice::tls
