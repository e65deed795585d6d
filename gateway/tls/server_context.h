// ServerContext: everything the TLS connections of one listener share, built once per
// config load: the certificates (chosen per connection by SNI), the protocol versions
// (TLS 1.2 and 1.3), the ciphers, ALPN and the session-ticket keys.
//
// Immutable once built and shared as shared_ptr<const ServerContext>: every Session keeps
// the context it started with, so a reload builds a new context and swaps it in for new
// connections while running ones finish on the old. Safe to use from every worker
// thread at once.
//
// Certificate choice: the SNI name is matched exactly against every certificate's names
// first, then against wildcards, in the order listed; no name, or no match, gets the
// first certificate.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "gateway/tls/certificate.h"
#include "gateway/tls/options.h"
#include "gateway/tls/ticket_keys.h"

namespace sluice::tls {

// Mozilla's "intermediate" recommendation (TLS 1.2 suites; TLS 1.3 uses OpenSSL's
// defaults, which are the same three AEADs).
inline constexpr const char* kCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kGroups = "X25519:P-256:P-384";

class ServerContext;
using ServerContextPtr = std::shared_ptr<const ServerContext>;

struct ContextError {
    size_t certificate = 0;  // index into ContextOptions::certificates
    CertificateError error;
};

struct BuiltContext {
    ServerContextPtr context;
    std::vector<std::string> warnings;  // an expired certificate, ...
};

class ServerContext {
  public:
    // Loads every certificate. `previous` (the context being replaced on reload) hands
    // over its ticket keys so that tickets issued before the reload still resume.
    static std::variant<BuiltContext, ContextError> create(const ContextOptions& options,
                                                           const ServerContext* previous = nullptr,
                                                           TicketKeyRing::Clock clock = {});
    ~ServerContext();
    ServerContext(const ServerContext&) = delete;
    ServerContext& operator=(const ServerContext&) = delete;

    // For Session: a new server-side SSL object (the caller owns it).
    SSL* new_ssl() const;

    const std::vector<std::string>& alpn() const { return alpn_; }
    // The certificate for a client's SNI name (index into the options' list).
    size_t certificate_for(std::string_view server_name) const;
    // The names each certificate serves (explicit, or read from it).
    std::vector<std::vector<std::string>> names_for_test() const;
    TicketKeyRing& ticket_keys() const { return *ticket_keys_; }

  private:
    friend struct ContextCallbacks;
    ServerContext() = default;

    SSL_CTX* ctx_ = nullptr;
    std::vector<LoadedCertificate> certificates_;
    std::vector<std::string> alpn_;
    std::string alpn_wire_;  // the list in ALPN wire format, for the select callback
    std::shared_ptr<TicketKeyRing> ticket_keys_;
};

}  // namespace sluice::tls
