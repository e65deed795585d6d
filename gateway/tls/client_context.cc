#include "gateway/tls/client_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "gateway/tls/certificate.h"
#include "gateway/tls/openssl_ptr.h"
#include "gateway/tls/server_context.h"

namespace sluice::tls {
namespace {

std::string openssl_error(const char* what) {
    unsigned long e = ERR_peek_error();
    ERR_clear_error();
    const char* r = e ? ERR_reason_error_string(e) : nullptr;
    return std::string(what) + (r ? std::string(": ") + r : "");
}

// Adds every certificate of a PEM file to the context's trust store; returns how many, or
// -1 with `error`.
int load_ca_file(SSL_CTX* ctx, const std::string& path, std::string& pem, std::string& error) {
    if (!read_pem_file(path, pem, error)) return -1;
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    ERR_clear_error();
    while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
        if (X509_STORE_add_cert(store, cert.get()) != 1) {
            error = openssl_error(("'" + path + "': a certificate cannot be used").c_str());
            return -1;
        }
        ++count;
    }
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    if (count == 0) {
        error = "'" + path + "' holds no PEM certificate";
        return -1;
    }
    // The loop ends on "no start line" at the end of the file; anything else is a broken
    // certificate in the bundle.
    if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        error = "'" + path + "': certificate " + std::to_string(count + 1) + " cannot be read";
        return -1;
    }
    return count;
}

}  // namespace

bool is_ip_address(std::string_view name) {
    std::string s(name);
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

ClientContext::~ClientContext() { SSL_CTX_free(ctx_); }

std::variant<ClientContextPtr, ClientContextError> ClientContext::create(const ClientContextOptions& options) {
    using Field = ClientContextError::Field;
    std::shared_ptr<ClientContext> self(new ClientContext());
    ERR_clear_error();
    self->ctx_ = SSL_CTX_new(TLS_client_method());
    if (!self->ctx_) return ClientContextError{Field::CaFile, openssl_error("cannot create a TLS context")};
    SSL_CTX* ctx = self->ctx_;
    self->verify_ = options.verify;
    self->identity_ = std::string(options.verify ? "verify\n" : "no-verify\n");
    // TLS 1.2 and 1.3, the same cipher list as the listeners (Mozilla "intermediate").
    static const unsigned char kAlpn[] = "\x08http/1.1";
    bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
              SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
              SSL_CTX_set_cipher_list(ctx, kCipherList) == 1 && SSL_CTX_set1_groups_list(ctx, kGroups) == 1 &&
              SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof(kAlpn) - 1) == 0;
    if (!ok) return ClientContextError{Field::CaFile, openssl_error("cannot set up TLS")};
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

    if (!options.ca_file.empty()) {
        std::string pem, error;
        if (load_ca_file(ctx, options.ca_file, pem, error) < 0) return ClientContextError{Field::CaFile, error};
        self->identity_ += "ca:" + pem;
    } else if (options.verify) {
        // Debian: /etc/ssl/certs (the ca-certificates package). Read lazily by OpenSSL.
        if (SSL_CTX_set_default_verify_paths(ctx) != 1)
            return ClientContextError{Field::CaFile, openssl_error("cannot use the system's trusted CAs")};
        self->identity_ += "ca:system";
    }
    SSL_CTX_set_verify(ctx, options.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);

    if (!options.cert_file.empty() || !options.key_file.empty()) {
        CertificateResult loaded = load_certificate(CertificateSpec{options.cert_file, options.key_file, {}});
        if (auto* err = std::get_if<CertificateError>(&loaded))
            return ClientContextError{err->field == CertificateError::Field::Key ? Field::Key : Field::Cert,
                                      err->message};
        auto& cert = std::get<LoadedCertificate>(loaded);
        if (SSL_CTX_use_cert_and_key(ctx, cert.leaf.get(), cert.key.get(), cert.chain.get(), 1) != 1)
            return ClientContextError{Field::Cert, openssl_error("cannot use the client certificate")};
        std::string pem, error;
        if (read_pem_file(options.cert_file, pem, error)) self->identity_ += "\ncert:" + pem;
        if (read_pem_file(options.key_file, pem, error)) self->identity_ += "\nkey:" + pem;
    }
    return ClientContextPtr(std::move(self));
}

SSL* ClientContext::new_ssl(std::string_view name) const {
    SslPtr ssl(SSL_new(ctx_));
    if (!ssl) return nullptr;
    std::string n(name);
    if (is_ip_address(n)) {
        // No SNI for an address; the certificate must carry it as an IP subjectAltName.
        if (verify_ && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), n.c_str()) != 1) return nullptr;
    } else if (!n.empty()) {
        if (SSL_set_tlsext_host_name(ssl.get(), n.c_str()) != 1) return nullptr;
        if (verify_) {
            SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SSL_set1_host(ssl.get(), n.c_str()) != 1) return nullptr;
        }
    }
    SSL_set_connect_state(ssl.get());
    return ssl.release();
}

bool ClientContext::same_as(const ClientContext& other) const { return identity_ == other.identity_; }

}  // namespace sluice::tls
