#include "gateway/tls/failure.h"

#include <openssl/err.h>

namespace sluice::tls {

std::string_view reason_name(FailureReason r) {
    switch (r) {
        case FailureReason::NotTls: return "not_tls";
        case FailureReason::ProtocolVersion: return "protocol_version";
        case FailureReason::NoSharedCipher: return "no_shared_cipher";
        case FailureReason::UnknownCa: return "unknown_ca";
        case FailureReason::BadCertificate: return "bad_certificate";
        case FailureReason::NoApplicationProtocol: return "no_application_protocol";
        case FailureReason::Other: return "other";
    }
    return "other";
}

Failure classify_openssl_error() {
    unsigned long e = ERR_peek_error();
    ERR_clear_error();
    Failure f;
    if (e == 0) {
        f.detail = "TLS error";
        return f;
    }
    const char* text = ERR_reason_error_string(e);
    f.detail = text ? text : "error " + std::to_string(e);
    if (ERR_GET_LIB(e) != ERR_LIB_SSL) return f;
    switch (ERR_GET_REASON(e)) {
        case SSL_R_HTTP_REQUEST:
        case SSL_R_HTTPS_PROXY_REQUEST:
            f.reason = FailureReason::NotTls;
            break;
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
            f.reason = FailureReason::ProtocolVersion;
            break;
        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_NO_SHARED_GROUPS:
        case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
        case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
            f.reason = FailureReason::NoSharedCipher;
            break;
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
            f.reason = FailureReason::UnknownCa;
            break;
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
        case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
            f.reason = FailureReason::BadCertificate;
            break;
        case SSL_R_NO_APPLICATION_PROTOCOL:
        case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
            f.reason = FailureReason::NoApplicationProtocol;
            break;
        default:
            break;
    }
    return f;
}

bool looks_like_plaintext_http(unsigned char first) { return first >= 'A' && first <= 'Z'; }

}  // namespace sluice::tls
