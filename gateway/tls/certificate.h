// Loading one certificate for a server: the PEM chain, the private key, the check that
// they belong together, and the SNI names it serves. Used by ServerContext and, at
// `--check` time, by config/ (so a bad file is a file:line:col error before start-up).
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/tls/openssl_ptr.h"
#include "gateway/tls/options.h"

namespace sluice::tls {

struct LoadedCertificate {
    X509Ptr leaf;
    X509StackPtr chain;  // intermediates after the leaf; may be empty, never null
    PkeyPtr key;
    std::vector<std::string> names;     // lower case; explicit or from the certificate
    std::vector<std::string> warnings;  // expired or not yet valid: served anyway
};

struct CertificateError {
    enum class Field { Cert, Key, Names };
    Field field = Field::Cert;  // which part of the spec to point at
    size_t name_index = 0;      // Field::Names: which name
    std::string message;
};

using CertificateResult = std::variant<LoadedCertificate, CertificateError>;

// A PEM file read whole (at most 1 MiB: anything bigger is not one, and a FIFO or
// /dev/zero named by mistake must not hang a --check). False with `error` ("cannot read
// 'FILE': No such file or directory", ...) otherwise.
bool read_pem_file(const std::string& path, std::string& out, std::string& error);

// Reads and checks spec's files. Errors: a file that cannot be read, holds no PEM
// certificate or key, a key that does not match the certificate, a certificate OpenSSL
// will not serve at the system's security level (weak key or signature), an explicit
// name that is not a host name or a "*.domain" wildcard.
CertificateResult load_certificate(const CertificateSpec& spec);

// A server name a certificate may be chosen for: a DNS name ("example.com") or a
// wildcard of one leftmost label ("*.example.com"). Returns "" or why not.
std::string check_server_name(std::string_view name);

// Does `pattern` (a name from check_server_name, lower case) serve `host` (as sent in
// SNI, any case)? A wildcard covers exactly one label: "*.example.com" serves
// "a.example.com", not "example.com" or "a.b.example.com".
bool name_matches(std::string_view pattern, std::string_view host);

}  // namespace sluice::tls
