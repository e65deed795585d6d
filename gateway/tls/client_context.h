// ClientContext: what sluice's TLS connections to one upstream share (`tls: true` on an
// upstream): the CAs the upstream's certificate is verified against (a CA file, or the
// system's trusted store), whether it is verified at all, and an optional client
// certificate for upstreams that ask for one (mutual TLS). Built once per config load by
// config/ (so an unreadable CA file is a file:line:col error at --check time), then
// immutable and shared by every worker's pool (shared_ptr<const>; SSL_CTX is safe to
// create SSL objects from on several threads).
//
// Each connection gets its own SSL from new_ssl(name): SNI set to `name` when it is a
// host name (never for an IP address, RFC 6066 section 3), and the certificate checked
// against `name` (its DNS subjectAltNames, or its IP ones for an address).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace sluice::tls {

struct ClientContextOptions {
    std::string ca_file;  // PEM CA certificates; "" = the system's trusted store
    bool verify = true;   // false: any certificate is accepted (names are still sent)
    std::string cert_file;  // client certificate chain (PEM), with key_file; "" = none
    std::string key_file;
};

struct ClientContextError {
    enum class Field { CaFile, Cert, Key };
    Field field = Field::CaFile;
    std::string message;
};

class ClientContext;
using ClientContextPtr = std::shared_ptr<const ClientContext>;

class ClientContext {
  public:
    // Reads every file now. Errors: a CA file that cannot be read or holds no PEM
    // certificate, a client certificate or key that cannot be loaded or do not match.
    static std::variant<ClientContextPtr, ClientContextError> create(const ClientContextOptions& options);
    ~ClientContext();
    ClientContext(const ClientContext&) = delete;
    ClientContext& operator=(const ClientContext&) = delete;

    // A new client-side SSL object for a connection to `name` (the caller owns it);
    // nullptr when out of memory.
    SSL* new_ssl(std::string_view name) const;
    bool verifies() const { return verify_; }

    // Same options and same file contents: a reload keeps the upstream's pool. A CA file
    // that changed on disk makes a new context (and a new pool), so a rotated CA is
    // picked up by SIGHUP.
    bool same_as(const ClientContext& other) const;

  private:
    ClientContext() = default;

    SSL_CTX* ctx_ = nullptr;
    bool verify_ = true;
    std::string identity_;  // the options and the files' contents, for same_as
};

// True when `name` is an IPv4 or IPv6 address literal (no brackets).
bool is_ip_address(std::string_view name);

}  // namespace sluice::tls
