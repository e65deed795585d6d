#include "gateway/tls/server_context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <cstring>

namespace sluice::tls {

// The C callbacks OpenSSL calls during a handshake. Each recovers the ServerContext from
// the SSL_CTX's app data and forwards; none lets an exception out.
struct ContextCallbacks {
    static const ServerContext* of(SSL* ssl) {
        return static_cast<const ServerContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    }

    // Acknowledges the client's SNI name, so it is kept in the session (and a resumed
    // TLS 1.2 session still knows it). The certificate is chosen in cert_cb.
    static int servername(SSL*, int*, void*) noexcept { return SSL_TLSEXT_ERR_OK; }

    // OpenSSL's hook for choosing a server certificate: called once the ClientHello's
    // extensions are parsed and before the certificate is used.
    static int choose_certificate(SSL* ssl, void*) noexcept {
        const ServerContext* self = of(ssl);
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        size_t i = self->certificate_for(name ? name : "");
        if (i == 0) return 1;  // the default is already the SSL_CTX's certificate
        const LoadedCertificate& c = self->certificates_[i];
        return SSL_use_cert_and_key(ssl, c.leaf.get(), c.key.get(), c.chain.get(), 1) == 1 ? 1 : 0;
    }

    // ALPN, server preference: the first of our protocols the client also offers. A
    // client that offers ALPN but none of ours gets the no_application_protocol alert
    // (RFC 7301, section 3.2).
    static int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                           const unsigned char* in, unsigned int inlen, void*) noexcept {
        const ServerContext* self = of(ssl);
        unsigned char* chosen = nullptr;
        int r = SSL_select_next_proto(&chosen, outlen,
                                      reinterpret_cast<const unsigned char*>(self->alpn_wire_.data()),
                                      static_cast<unsigned int>(self->alpn_wire_.size()), in, inlen);
        if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_ALERT_FATAL;
        *out = chosen;
        return SSL_TLSEXT_ERR_OK;
    }

    // Session tickets (ticket_keys.h): encrypt under the newest key; decrypt under any
    // kept key, asking for a fresh ticket (return 2) when it was not the newest.
    static int ticket_key(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                          EVP_MAC_CTX* mac, int encrypt) noexcept {
        try {
            const ServerContext* self = of(ssl);
            TicketKey key;
            bool is_current = true;
            if (encrypt) {
                key = self->ticket_keys_->current();
                std::memcpy(key_name, key.name.data(), key.name.size());
                if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
            } else {
                auto found = self->ticket_keys_->find(key_name, key.name.size(), is_current);
                if (!found) return 0;  // unknown or retired key: a full handshake
                key = *found;
            }
            char digest[] = "SHA256";
            OSSL_PARAM params[] = {
                OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac_key.data(), key.hmac_key.size()),
                OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                OSSL_PARAM_construct_end(),
            };
            if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
            int ok = encrypt ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes_key.data(), iv)
                             : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes_key.data(), iv);
            if (ok != 1) return -1;
            return is_current ? 1 : 2;
        } catch (...) {
            return -1;
        }
    }
};

namespace {

std::string alpn_wire(const std::vector<std::string>& protocols) {
    std::string wire;
    for (const auto& p : protocols) {
        if (p.empty() || p.size() > 255) continue;
        wire.push_back(static_cast<char>(p.size()));
        wire += p;
    }
    return wire;
}

std::string openssl_error(const char* what) {
    unsigned long e = ERR_peek_error();
    ERR_clear_error();
    const char* r = e ? ERR_reason_error_string(e) : nullptr;
    return std::string(what) + (r ? std::string(": ") + r : "");
}

}  // namespace

ServerContext::~ServerContext() { SSL_CTX_free(ctx_); }

std::variant<BuiltContext, ContextError> ServerContext::create(const ContextOptions& options,
                                                               const ServerContext* previous,
                                                               TicketKeyRing::Clock clock) {
    if (options.certificates.empty())
        return ContextError{0, {CertificateError::Field::Cert, 0, "a TLS listener needs a certificate"}};
    std::shared_ptr<ServerContext> self(new ServerContext());
    BuiltContext built;
    for (size_t i = 0; i < options.certificates.size(); ++i) {
        CertificateResult r = load_certificate(options.certificates[i]);
        if (auto* err = std::get_if<CertificateError>(&r)) return ContextError{i, std::move(*err)};
        auto& cert = std::get<LoadedCertificate>(r);
        built.warnings.insert(built.warnings.end(), cert.warnings.begin(), cert.warnings.end());
        self->certificates_.push_back(std::move(cert));
    }

    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return ContextError{0, {CertificateError::Field::Cert, 0, openssl_error("cannot create a TLS context")}};
    self->ctx_ = ctx;
    SSL_CTX_set_app_data(ctx, self.get());
    const LoadedCertificate& first = self->certificates_.front();
    bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
              SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
              SSL_CTX_set_cipher_list(ctx, kCipherList) == 1 && SSL_CTX_set1_groups_list(ctx, kGroups) == 1 &&
              SSL_CTX_set_dh_auto(ctx, 1) == 1 &&
              SSL_CTX_use_cert_and_key(ctx, first.leaf.get(), first.key.get(), first.chain.get(), 1) == 1;
    if (!ok) return ContextError{0, {CertificateError::Field::Cert, 0, openssl_error("cannot set up TLS")}};
    // Renegotiation is a DoS lever and HTTP/2 forbids it; compression is CRIME.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // Idle connections give their 2 x ~17 KiB record buffers back (most SSE connections
    // are idle most of the time).
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    // Resumption is by ticket only (stateless, works across workers and processes that
    // share nothing); no server-side session cache.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    static const unsigned char kSessionIdContext[] = "sluice";
    SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1);

    SSL_CTX_set_tlsext_servername_callback(ctx, ContextCallbacks::servername);
    SSL_CTX_set_cert_cb(ctx, ContextCallbacks::choose_certificate, nullptr);
    self->alpn_ = options.alpn;
    self->alpn_wire_ = alpn_wire(options.alpn);
    if (!self->alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx, ContextCallbacks::select_alpn, nullptr);
    self->ticket_keys_ = previous ? previous->ticket_keys_
                                  : std::make_shared<TicketKeyRing>(options.ticket_key_rotation, std::move(clock));
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ContextCallbacks::ticket_key);
    built.context = std::move(self);
    return built;
}

SSL* ServerContext::new_ssl() const { return SSL_new(ctx_); }

size_t ServerContext::certificate_for(std::string_view server_name) const {
    if (server_name.empty()) return 0;
    for (size_t i = 0; i < certificates_.size(); ++i)
        for (const auto& n : certificates_[i].names)
            if (!n.starts_with("*.") && name_matches(n, server_name)) return i;
    for (size_t i = 0; i < certificates_.size(); ++i)
        for (const auto& n : certificates_[i].names)
            if (n.starts_with("*.") && name_matches(n, server_name)) return i;
    return 0;
}

std::vector<std::vector<std::string>> ServerContext::names_for_test() const {
    std::vector<std::vector<std::string>> out;
    for (const auto& c : certificates_) out.push_back(c.names);
    return out;
}

}  // namespace sluice::tls
