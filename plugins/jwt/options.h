// The `jwt` plugin's options, as the config gives them (file paths and the secret are read
// and checked by Verifier::create, once, when the config loads).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "plugins/jwt/token_sources.h"

namespace sluice::plugins::jwt {

struct Options {
    // Pinned: a token whose header names another algorithm, or "none", is refused before
    // any key is looked at. HS256/384/512, RS256/384/512, ES256/384.
    std::vector<std::string> algorithms;
    // Exactly one of these three says where the verification keys come from.
    std::string key_file;   // a PEM public key (RS*, ES*); a private key's public half is used
    std::string secret;     // the HMAC secret (HS*), usually "${JWT_SECRET}" in the config
    std::string jwks_file;  // a JSON Web Key Set: the token's `kid` picks the key
    std::string issuer;     // empty: `iss` is not checked
    std::string audience;   // empty: `aud` is not checked
    std::chrono::seconds leeway{0};  // clock skew allowed on `exp` and `nbf`
    std::vector<TokenSource> from{TokenSource{TokenSource::Kind::Bearer, {}}};
    std::string channels_claim;  // empty: any channel of the route may be read
    bool close_on_expiry = false;
    // Tokens whose signature verified, remembered so a returning client skips that check
    // (VerifiedTokenCache); 0 turns it off.
    size_t cache_size = 10000;
};

}  // namespace sluice::plugins::jwt
