// What a TLS listener is built from: its certificates and the application protocols it
// offers. Filled by config/ (the `tls:` and `http2:` keys of a `listen:` item) and read
// by ServerContext::create().
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace sluice::tls {

// One certificate: a PEM chain file (leaf first, then intermediates) and its PEM private
// key. `names` are the SNI names it serves ("example.com", "*.example.com"); when empty
// they are taken from the certificate (subjectAltName DNS entries, else the CN).
struct CertificateSpec {
    std::string cert_file;
    std::string key_file;
    std::vector<std::string> names;
};

inline constexpr const char* kAlpnHttp2 = "h2";
inline constexpr const char* kAlpnHttp11 = "http/1.1";

struct ContextOptions {
    // The first is the default: it answers clients that send no SNI name, or one that no
    // certificate serves.
    std::vector<CertificateSpec> certificates;
    // ALPN protocols in server preference order; empty = no ALPN.
    std::vector<std::string> alpn{kAlpnHttp2, kAlpnHttp11};
    // A new session-ticket key is made this often; tickets stay valid for
    // ticket_key_rotation * kTicketKeysKept (see ticket_keys.h).
    std::chrono::seconds ticket_key_rotation = std::chrono::hours(1);
};

}  // namespace sluice::tls
