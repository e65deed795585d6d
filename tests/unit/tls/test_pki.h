// A throw-away PKI for the TLS tests, made with OpenSSL's C API at run time (no key is
// ever checked in): a CA, certificates it issues (EC P-256, with DNS subjectAltNames,
// chosen validity), PEM text of both, files in a temp folder, and an OpenSSL client on
// memory BIOs that talks to a tls::Session in-process. Header-only: shared by the unit
// tests and the tls_session fuzz target.
#pragma once

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/tls/openssl_ptr.h"
#include "gateway/tls/session.h"

namespace sluice::tls::testing {

inline void require(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

inline PkeyPtr make_key() {
    PkeyPtr key(EVP_EC_gen("P-256"));
    require(key != nullptr, "EVP_EC_gen");
    return key;
}

struct Issued {
    X509Ptr cert;
    PkeyPtr key;
};

struct CertRequest {
    std::string common_name = "sluice test";
    std::vector<std::string> dns_names;  // subjectAltName DNS entries
    long not_before_s = -3600;           // relative to now
    long not_after_s = 86400;
    bool is_ca = false;
    int rsa_bits = 0;  // 0: EC P-256
};

// Signs with `issuer` (self-signed when null).
inline Issued issue(const CertRequest& req, const Issued* issuer) {
    Issued out{X509Ptr(X509_new()), req.rsa_bits ? PkeyPtr(EVP_RSA_gen(req.rsa_bits)) : make_key()};
    require(out.key != nullptr, "key");
    X509* c = out.cert.get();
    static long serial = 1;
    require(X509_set_version(c, 2) == 1, "version");
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c), req.not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(c), req.not_after_s);
    X509_NAME* name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(req.common_name.c_str()), -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
    require(X509_set_pubkey(c, out.key.get()) == 1, "pubkey");
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer ? issuer->cert.get() : c, c, nullptr, nullptr, 0);
    auto add_ext = [&](int nid, const std::string& value) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
        require(ext != nullptr, "extension");
        X509_add_ext(c, ext, -1);
        X509_EXTENSION_free(ext);
    };
    if (req.is_ca) {
        add_ext(NID_basic_constraints, "critical,CA:TRUE");
        add_ext(NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(NID_basic_constraints, "CA:FALSE");
        add_ext(NID_ext_key_usage, "serverAuth");
    }
    if (!req.dns_names.empty()) {
        std::string san;
        for (const auto& n : req.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
        add_ext(NID_subject_alt_name, san);
    }
    require(X509_sign(c, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) > 0, "sign");
    return out;
}

inline Issued make_ca(const std::string& cn = "sluice test CA") {
    CertRequest r;
    r.common_name = cn;
    r.is_ca = true;
    return issue(r, nullptr);
}

inline std::string pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(n));
}

inline std::string pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(n));
}

// A temp folder removed at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-tls-XXXXXX").string();
        require(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::string p = (path_ / name).string();
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
    std::string path(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

// Writes `issued` as NAME.crt (leaf, then `ca` when given, as a chain) and NAME.key.
inline CertificateSpec write_cert(const TempDir& dir, const std::string& name, const Issued& issued,
                                  const Issued* ca = nullptr, std::vector<std::string> names = {}) {
    std::string chain = pem(issued.cert.get()) + (ca ? pem(ca->cert.get()) : "");
    return CertificateSpec{dir.write(name + ".crt", chain), dir.write(name + ".key", pem(issued.key.get())),
                           std::move(names)};
}

// Records what a Session hands its handler.
struct RecordingHandler final : Session::Handler {
    int established = 0;
    HandshakeInfo info;
    std::string plaintext;
    bool peer_closed = false;
    void on_tls_established(const HandshakeInfo& i) override {
        ++established;
        info = i;
    }
    void on_tls_plaintext(const char* data, size_t len) override { plaintext.append(data, len); }
    void on_tls_peer_closed() override { peer_closed = true; }
};

struct ClientOptions {
    const Issued* trust = nullptr;  // verify the server against this CA (none: no verification)
    std::string sni;                // also the name verified when trust is set
    std::vector<std::string> alpn;
    int min_version = 0;
    int max_version = 0;
    std::string tls12_ciphers;  // "" = OpenSSL's default
    SSL_SESSION* resume = nullptr;
    bool legacy = false;  // security level 0, so TLS 1.0/1.1 can be offered
};

// An OpenSSL client on memory BIOs.
class Client {
  public:
    explicit Client(const ClientOptions& o) {
        ctx_.reset(SSL_CTX_new(TLS_client_method()));
        require(ctx_ != nullptr, "client ctx");
        if (o.legacy) SSL_CTX_set_security_level(ctx_.get(), 0);
        if (o.min_version) SSL_CTX_set_min_proto_version(ctx_.get(), o.min_version);
        if (o.max_version) SSL_CTX_set_max_proto_version(ctx_.get(), o.max_version);
        if (!o.tls12_ciphers.empty()) require(SSL_CTX_set_cipher_list(ctx_.get(), o.tls12_ciphers.c_str()) == 1, "ciphers");
        if (o.trust) {
            X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_.get()), o.trust->cert.get());
            SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
        }
        SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        ssl_.reset(SSL_new(ctx_.get()));
        in_ = BIO_new(BIO_s_mem());
        out_ = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(in_, -1);
        SSL_set_bio(ssl_.get(), in_, out_);
        SSL_set_connect_state(ssl_.get());
        if (!o.sni.empty()) {
            SSL_set_tlsext_host_name(ssl_.get(), o.sni.c_str());
            if (o.trust) SSL_set1_host(ssl_.get(), o.sni.c_str());
        }
        if (!o.alpn.empty()) {
            std::string wire;
            for (const auto& p : o.alpn) wire += static_cast<char>(p.size()) + p;
            SSL_set_alpn_protos(ssl_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size()));
        }
        if (o.resume) SSL_set_session(ssl_.get(), o.resume);
    }

    // A clean close (close_notify), as a browser does: OpenSSL marks the session of a
    // connection freed without one as not resumable.
    ~Client() {
        if (ssl_ && SSL_is_init_finished(ssl_.get())) SSL_shutdown(ssl_.get());
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    SSL* ssl() { return ssl_.get(); }
    // Application data that arrived with the end of the handshake (read by handshake()).
    std::string handshake_data;

    std::string take_output() {
        std::string out(BIO_ctrl_pending(out_), '\0');
        size_t got = 0;
        if (!out.empty() && BIO_read_ex(out_, out.data(), out.size(), &got) == 1) out.resize(got);
        return out;
    }
    void give(const std::string& bytes) {
        if (!bytes.empty()) BIO_write(in_, bytes.data(), static_cast<int>(bytes.size()));
    }
    // One handshake step: 1 done, 0 wants more, -1 failed.
    int step() {
        if (SSL_is_init_finished(ssl_.get())) return 1;
        ERR_clear_error();
        int r = SSL_do_handshake(ssl_.get());
        if (r == 1) return 1;
        int e = SSL_get_error(ssl_.get(), r);
        if (e == SSL_ERROR_WANT_READ) return 0;
        ERR_clear_error();
        return -1;
    }
    // Everything decryptable now (also processes session tickets).
    std::string read_all() {
        std::string out;
        char buf[16384];
        size_t got = 0;
        while (SSL_read_ex(ssl_.get(), buf, sizeof(buf), &got) == 1) out.append(buf, got);
        ERR_clear_error();
        return out;
    }
    void write(const std::string& text) {
        size_t done = 0;
        require(SSL_write_ex(ssl_.get(), text.data(), text.size(), &done) == 1 && done == text.size(), "client write");
    }
    std::string peer_common_name() {
        X509Ptr peer(SSL_get1_peer_certificate(ssl_.get()));
        if (!peer) return "";
        char cn[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer.get()), NID_commonName, cn, sizeof(cn));
        return cn;
    }

  private:
    SslCtxPtr ctx_;
    SslPtr ssl_;
    BIO* in_ = nullptr;
    BIO* out_ = nullptr;
};

// Runs the handshake between `client` and `session` until both are done or one fails.
// Returns true when both sides completed.
inline bool handshake(Client& client, Session& session) {
    for (int round = 0; round < 20; ++round) {
        int c = client.step();
        std::string to_server = client.take_output();
        if (!to_server.empty()) session.feed(to_server.data(), to_server.size());
        client.give(session.take_output());
        if (c < 0 || session.failed()) return false;
        if (c == 1 && session.established()) {
            client.handshake_data += client.read_all();  // also takes in the session ticket(s)
            return true;
        }
    }
    return false;
}

}  // namespace sluice::tls::testing
