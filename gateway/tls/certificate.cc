#include "gateway/tls/certificate.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::tls {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// The first OpenSSL error on this thread's queue, as text, then the queue is cleared.
std::string openssl_reason() {
    unsigned long e = ERR_peek_error();
    ERR_clear_error();
    if (e == 0) return "";
    const char* r = ERR_reason_error_string(e);
    return r ? r : "error " + std::to_string(e);
}

// PEM files are small; anything bigger is not one (and /dev/zero or a FIFO named by
// mistake must not hang or exhaust a --check).
constexpr uintmax_t kMaxPemFileBytes = 1024 * 1024;

}  // namespace

// Whole file into memory, so that "cannot read" (errno) and "not PEM" are told apart.
bool read_pem_file(const std::string& path, std::string& out, std::string& error) {
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
        error = "cannot read '" + path + "': " +
                (ec && ec != std::errc::no_such_file_or_directory ? ec.message() : std::strerror(ENOENT));
        return false;
    }
    if (!std::filesystem::is_regular_file(status)) {
        error = "cannot read '" + path + "': not a regular file";
        return false;
    }
    if (std::filesystem::file_size(path, ec) > kMaxPemFileBytes) {
        error = "'" + path + "' is larger than 1 MiB: not a PEM file";
        return false;
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read '" + path + "': " + std::strerror(errno ? errno : EACCES);
        return false;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        error = "cannot read '" + path + "': read failed";
        return false;
    }
    out = text.str();
    return true;
}

namespace {

bool read_chain(const std::string& path, LoadedCertificate& out, std::string& error) {
    std::string pem;
    if (!read_pem_file(path, pem, error)) return false;
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    ERR_clear_error();
    out.leaf.reset(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
    if (!out.leaf) {
        error = "'" + path + "' holds no PEM certificate";
        ERR_clear_error();
        return false;
    }
    out.chain.reset(sk_X509_new_null());
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
        sk_X509_push(out.chain.get(), extra);
    // The loop ends on "no start line" at the end of the file; anything else is a broken
    // certificate in the chain.
    unsigned long e = ERR_peek_last_error();
    if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        error = "'" + path + "': a certificate after the first cannot be read (" + openssl_reason() + ")";
        return false;
    }
    ERR_clear_error();
    return true;
}

bool read_key(const std::string& path, LoadedCertificate& out, std::string& error) {
    std::string pem;
    if (!read_pem_file(path, pem, error)) return false;
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    ERR_clear_error();
    // An empty passphrase callback: an encrypted key is refused rather than prompting
    // on the terminal.
    auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
    out.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!out.key) {
        std::string why = openssl_reason();
        error = "'" + path + "' holds no usable PEM private key" +
                (pem.find("ENCRYPTED") != std::string::npos ? " (encrypted keys are not supported)"
                                                            : why.empty() ? "" : " (" + why + ")");
        return false;
    }
    return true;
}

std::vector<std::string> names_from_certificate(X509* cert) {
    std::vector<std::string> names;
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
            if (gn->type != GEN_DNS) continue;
            const ASN1_IA5STRING* s = gn->d.dNSName;
            std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<size_t>(ASN1_STRING_length(s)));
            if (check_server_name(name).empty()) names.push_back(lower(name));
        }
        GENERAL_NAMES_free(sans);
    }
    // RFC 6125: the CN counts only when there are no DNS subjectAltNames.
    if (names.empty()) {
        X509_NAME* subject = X509_get_subject_name(cert);
        int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (at >= 0) {
            const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
            std::string cn(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<size_t>(ASN1_STRING_length(s)));
            if (check_server_name(cn).empty()) names.push_back(lower(cn));
        }
    }
    return names;
}

void validity_warnings(const std::string& path, X509* cert, std::vector<std::string>& out) {
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
        out.push_back("the certificate in '" + path +
                      "' has expired; it is served anyway, but clients will refuse it");
    else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
        out.push_back("the certificate in '" + path +
                      "' is not valid yet; it is served anyway, but clients will refuse it");
}

bool is_label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

}  // namespace

std::string check_server_name(std::string_view name) {
    if (name.empty()) return "a server name cannot be empty";
    if (name.size() > 253) return "a server name is at most 253 characters";
    std::string_view rest = name;
    if (rest.starts_with("*.")) rest.remove_prefix(2);
    if (rest.find('*') != std::string_view::npos)
        return "'" + std::string(name) + "': a wildcard is only allowed as the whole first label, like *.example.com";
    size_t label_start = 0;
    for (size_t i = 0; i <= rest.size(); ++i) {
        if (i == rest.size() || rest[i] == '.') {
            size_t len = i - label_start;
            if (len == 0 || len > 63)
                return "'" + std::string(name) + "' is not a host name (empty or over-long label)";
            if (rest[label_start] == '-' || rest[i - 1] == '-')
                return "'" + std::string(name) + "' is not a host name (a label starts or ends with '-')";
            label_start = i + 1;
        } else if (!is_label_char(rest[i])) {
            return "'" + std::string(name) + "' is not a host name";
        }
    }
    return "";
}

bool name_matches(std::string_view pattern, std::string_view host) {
    if (host.size() > 253) return false;
    std::string h = lower(host);
    if (!h.empty() && h.back() == '.') h.pop_back();  // absolute form "example.com."
    if (!pattern.starts_with("*.")) return h == pattern;
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    if (h.size() <= suffix.size() || !std::string_view(h).ends_with(suffix)) return false;
    std::string_view label = std::string_view(h).substr(0, h.size() - suffix.size());
    return label.find('.') == std::string_view::npos;
}

CertificateResult load_certificate(const CertificateSpec& spec) {
    LoadedCertificate out;
    std::string error;
    if (!read_chain(spec.cert_file, out, error))
        return CertificateError{CertificateError::Field::Cert, 0, error};
    if (!read_key(spec.key_file, out, error))
        return CertificateError{CertificateError::Field::Key, 0, error};
    ERR_clear_error();
    if (X509_check_private_key(out.leaf.get(), out.key.get()) != 1) {
        ERR_clear_error();
        return CertificateError{CertificateError::Field::Key, 0,
                                "the key in '" + spec.key_file +
                                    "' does not match the certificate in '" + spec.cert_file + "'"};
    }
    // What OpenSSL itself refuses to serve under the system's security level (Debian: an
    // RSA key under 2048 bits, a chain signed with SHA-1, ...): found here, by the same
    // call the listener makes, rather than when a client connects.
    {
        SslCtxPtr probe(SSL_CTX_new(TLS_server_method()));
        if (probe && SSL_CTX_use_cert_and_key(probe.get(), out.leaf.get(), out.key.get(), out.chain.get(), 1) != 1) {
            std::string why = openssl_reason();
            return CertificateError{CertificateError::Field::Cert, 0,
                                    "the certificate in '" + spec.cert_file + "' cannot be served" +
                                        (why.empty() ? "" : ": " + why)};
        }
        ERR_clear_error();
    }
    if (!spec.names.empty()) {
        for (size_t i = 0; i < spec.names.size(); ++i) {
            if (std::string why = check_server_name(spec.names[i]); !why.empty())
                return CertificateError{CertificateError::Field::Names, i, why};
            out.names.push_back(lower(spec.names[i]));
        }
    } else {
        // No usable name (an IP-only certificate) is fine: it is then served only as the
        // default, to clients whose SNI name no other certificate serves.
        out.names = names_from_certificate(out.leaf.get());
    }
    validity_warnings(spec.cert_file, out.leaf.get(), out.warnings);
    return out;
}

}  // namespace sluice::tls
