// Verification keys: what each one is (HMAC secret, RSA or EC public key) decides which
// algorithms it may verify, so a token can never make sluice use an RSA public key as an
// HMAC secret (algorithm confusion). Keys are loaded once, when the config loads; libjwt
// takes them as a PEM text (RSA, EC) or as raw bytes (HMAC).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::plugins::jwt {

enum class KeyKind { Hmac, Rsa, EcP256, EcP384 };

struct Key {
    KeyKind kind = KeyKind::Hmac;
    std::string material;  // HMAC: the secret's bytes; RSA/EC: the public key as PEM
    std::string alg;       // the JWK's "alg" when it names one: only that algorithm
};

// Can a key of this kind verify algorithm `alg` ("HS256", "RS384", "ES256", ...)?
bool key_fits_alg(KeyKind kind, std::string_view alg);

// A PEM public key, or a private key whose public half is kept. RSA keys must have at
// least 2048 bits; EC keys must be on P-256 or P-384. nullopt with `error` otherwise.
std::optional<Key> key_from_pem(std::string_view pem, std::string& error);

struct KeySet {
    std::map<std::string, Key> by_kid;  // JWKS: keys by their "kid"
};

// A JSON Web Key Set (RFC 7517): {"keys":[{kty,kid,...}]}. RSA (n, e), EC (crv P-256 or
// P-384, x, y) and oct (k) keys; every key needs a unique "kid". Keys with "use" other
// than "sig" are skipped. nullopt with `error` when the set or one of its keys is invalid.
std::optional<KeySet> keys_from_jwks(std::string_view json_text, std::string& error);

}  // namespace sluice::plugins::jwt
