// Why a TLS connection failed, in a few classes a metric can count
// (sluice_tls_handshake_failures_total{reason=...} once wired) and an operator can act on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

namespace sluice::tls {

enum class FailureReason : uint8_t {
    NotTls,                 // plaintext (an HTTP request) on a TLS port
    ProtocolVersion,        // the client offers only versions we refuse (SSLv3, TLS 1.0/1.1)
    NoSharedCipher,         // no cipher suite in common
    UnknownCa,              // the client does not trust our certificate's issuer
    BadCertificate,         // the client refused our certificate otherwise (expired, name, ...)
    NoApplicationProtocol,  // ALPN offered, none of ours
    Other,                  // anything else: garbage, a broken record, a MAC failure, ...
};

// Metric label: "not_tls", "protocol_version", "no_shared_cipher", "unknown_ca",
// "bad_certificate", "no_application_protocol", "other".
std::string_view reason_name(FailureReason r);

struct Failure {
    FailureReason reason = FailureReason::Other;
    std::string detail;  // OpenSSL's reason text, for the log
};

// Classifies the error OpenSSL left on this thread's error queue (and clears it).
Failure classify_openssl_error();

// True when `first` can only be the start of a plaintext request: a TLS record starts
// with a content type byte 20..23 (or 0x80 for an SSLv2-style hello), never a letter.
bool looks_like_plaintext_http(unsigned char first);

}  // namespace sluice::tls
