// Verifies a JWT (compact JWS) against the `jwt` plugin's options. libjwt checks the
// signature; sluice checks everything libjwt 1.x would let a token decide for itself:
//
//   token --> split, decode header and payload (malformed?)
//         --> header alg pinned? ("none" never)        -- before any key is touched
//         --> key: the single key, or the JWKS key of the header's kid; its kind must fit
//             the alg (an RSA public key is never used as an HMAC secret)
//         --> libjwt: signature (and the alg it saw must be the one pinned), skipped for
//             a token whose signature verified before (VerifiedTokenCache)
//         --> exp / nbf with leeway, iss, aud
//         --> Ok with the expiry and the claims
//
// Built once when the config loads; verify() is const and safe on every loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugins/jwt/keys.h"
#include "plugins/jwt/options.h"
#include "plugins/jwt/verified_cache.h"

namespace sluice::plugins::jwt {

enum class Outcome {
    Ok,
    Missing,            // 401: no token in any configured source
    Malformed,          // 401: not three base64url parts with JSON header and payload
    AlgNotAllowed,      // 401: alg not pinned, "none", or not the key's kind
    UnknownKey,         // 401: the kid names no key of the JWKS
    BadSignature,       // 401
    Expired,            // 401
    NotYetValid,        // 401
    WrongIssuer,        // 401
    WrongAudience,      // 401
    ChannelNotAllowed,  // 403: valid token, channel outside its channels claim
};

// The HTTP status of an outcome: 200, 401 or 403.
int outcome_status(Outcome o);
// A short reason for logs, metrics and the error body ("expired", "bad signature", ...).
std::string_view outcome_reason(Outcome o);

struct Verdict {
    Outcome outcome = Outcome::Missing;
    std::optional<int64_t> expires_at;  // the token's exp (seconds since the epoch), if any
    nlohmann::json claims;              // the verified payload (only when the token verified)

    bool ok() const { return outcome == Outcome::Ok; }
};

class Verifier {
  public:
    // Checks the options and reads key_file / jwks_file. nullptr with `error` set (one
    // line, naming the option) when something is wrong. Never echoes the secret.
    static std::shared_ptr<const Verifier> create(const Options& options, std::string& error);

    // For tests and the fuzz target: keys given directly instead of read from files.
    Verifier(Options options, std::optional<Key> single_key, KeySet jwks);

    // `now` is the wall clock in seconds since the epoch.
    Verdict verify(std::string_view token, int64_t now) const;

    // After a verified token: may it read `channel`? Always true without channels_claim.
    bool allows_channel(const Verdict& verdict, std::string_view channel) const;

    const Options& options() const { return options_; }
    size_t remembered_tokens() const { return verified_->size(); }

  private:
    const Key* key_for(const nlohmann::json& header) const;

    Options options_;
    std::optional<Key> single_key_;
    KeySet jwks_;
    std::unique_ptr<VerifiedTokenCache> verified_;  // thread-safe; verify() stays const
};

// The algorithms the plugin supports ("HS256", ... "ES384").
const std::vector<std::string_view>& supported_algorithms();

}  // namespace sluice::plugins::jwt
