#include "plugins/jwt/verifier.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <jwt.h>

#include "gateway/core/ascii.h"
#include "plugins/jwt/base64url.h"
#include "plugins/jwt/channel_claim.h"

namespace sluice::plugins::jwt {
namespace {

struct JwtFree { void operator()(jwt_t* j) const { jwt_free(j); } };

struct Parts {
    nlohmann::json header;
    nlohmann::json payload;
};

// The token's header and payload as JSON objects; nullopt when it is not a compact JWS.
std::optional<Parts> split_token(std::string_view token) {
    auto dot1 = token.find('.');
    if (dot1 == std::string_view::npos) return std::nullopt;
    auto dot2 = token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        return std::nullopt;
    }
    auto header = base64url_decode(token.substr(0, dot1));
    auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    auto signature = base64url_decode(token.substr(dot2 + 1));
    if (!header || !payload || !signature) return std::nullopt;
    Parts parts;
    parts.header = nlohmann::json::parse(*header, nullptr, false);
    parts.payload = nlohmann::json::parse(*payload, nullptr, false);
    if (!parts.header.is_object() || !parts.payload.is_object()) return std::nullopt;
    return parts;
}

// A NumericDate claim: nullopt when absent; `bad` when present but not a number.
std::optional<int64_t> numeric_date(const nlohmann::json& payload, const char* name, bool& bad) {
    auto it = payload.find(name);
    if (it == payload.end()) return std::nullopt;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_number_float()) {
        double v = it->get<double>();
        // Outside +-2^62 seconds no real date lies; refusing avoids an overflowing cast.
        if (std::isfinite(v) && std::fabs(v) < 4.6e18) return static_cast<int64_t>(std::floor(v));
    }
    bad = true;
    return std::nullopt;
}

bool audience_matches(const nlohmann::json& aud, const std::string& want) {
    if (aud.is_string()) return aud.get_ref<const std::string&>() == want;
    if (!aud.is_array()) return false;
    return std::any_of(aud.begin(), aud.end(), [&](const nlohmann::json& a) {
        return a.is_string() && a.get_ref<const std::string&>() == want;
    });
}

std::optional<std::string> read_file(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read " + path;
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

const std::vector<std::string_view>& supported_algorithms() {
    static const std::vector<std::string_view> algs{"HS256", "HS384", "HS512", "RS256",
                                                    "RS384", "RS512", "ES256", "ES384"};
    return algs;
}

int outcome_status(Outcome o) {
    if (o == Outcome::Ok) return 200;
    if (o == Outcome::ChannelNotAllowed) return 403;
    return 401;
}

std::string_view outcome_reason(Outcome o) {
    switch (o) {
        case Outcome::Ok: return "ok";
        case Outcome::Missing: return "missing token";
        case Outcome::Malformed: return "malformed token";
        case Outcome::AlgNotAllowed: return "algorithm not allowed";
        case Outcome::UnknownKey: return "unknown key";
        case Outcome::BadSignature: return "bad signature";
        case Outcome::Expired: return "token expired";
        case Outcome::NotYetValid: return "token not yet valid";
        case Outcome::WrongIssuer: return "wrong issuer";
        case Outcome::WrongAudience: return "wrong audience";
        case Outcome::ChannelNotAllowed: return "channel not allowed";
    }
    return "unknown";
}

std::shared_ptr<const Verifier> Verifier::create(const Options& options, std::string& error) {
    if (options.algorithms.empty()) {
        error = "algorithms: list at least one (HS256/384/512, RS256/384/512, ES256/384)";
        return nullptr;
    }
    for (const std::string& alg : options.algorithms) {
        const auto& known = supported_algorithms();
        if (std::find(known.begin(), known.end(), alg) == known.end()) {
            error = "algorithms: '" + alg + "' is not supported (HS256/384/512, RS256/384/512, ES256/384)";
            return nullptr;
        }
    }
    int sources = !options.key_file.empty() + !options.secret.empty() + !options.jwks_file.empty();
    if (sources != 1) {
        error = "give exactly one of key_file, secret and jwks_file";
        return nullptr;
    }
    std::optional<Key> single;
    KeySet jwks;
    if (!options.secret.empty()) {
        single = Key{KeyKind::Hmac, options.secret, {}};
    } else if (!options.key_file.empty()) {
        auto pem = read_file(options.key_file, error);
        if (!pem) return nullptr;
        std::string why;
        single = key_from_pem(*pem, why);
        if (!single) {
            error = "key_file " + options.key_file + ": " + why;
            return nullptr;
        }
    } else {
        auto text = read_file(options.jwks_file, error);
        if (!text) return nullptr;
        std::string why;
        auto set = keys_from_jwks(*text, why);
        if (!set) {
            error = "jwks_file " + options.jwks_file + ": " + why;
            return nullptr;
        }
        jwks = std::move(*set);
    }
    // Every pinned algorithm must be one the key(s) can verify: "secret" with RS256 (or a
    // PEM key with HS256) is a mistake to report now, not a 401 on every request.
    for (const std::string& alg : options.algorithms) {
        bool usable = single ? key_fits_alg(single->kind, alg)
                             : std::any_of(jwks.by_kid.begin(), jwks.by_kid.end(), [&](const auto& kv) {
                                   return key_fits_alg(kv.second.kind, alg);
                               });
        if (!usable) {
            error = "algorithms: " + alg + " cannot be verified with the " +
                    (options.secret.empty() ? (options.key_file.empty() ? "keys of jwks_file" : "key of key_file")
                                            : std::string("secret"));
            return nullptr;
        }
    }
    return std::make_shared<const Verifier>(options, std::move(single), std::move(jwks));
}

Verifier::Verifier(Options options, std::optional<Key> single_key, KeySet jwks)
    : options_(std::move(options)), single_key_(std::move(single_key)), jwks_(std::move(jwks)),
      verified_(std::make_unique<VerifiedTokenCache>(options_.cache_size)) {}

const Key* Verifier::key_for(const nlohmann::json& header) const {
    if (single_key_) return &*single_key_;
    auto kid = header.find("kid");
    if (kid == header.end()) {
        // Without a kid, a set of one key is unambiguous.
        return jwks_.by_kid.size() == 1 ? &jwks_.by_kid.begin()->second : nullptr;
    }
    if (!kid->is_string()) return nullptr;
    auto it = jwks_.by_kid.find(kid->get_ref<const std::string&>());
    return it == jwks_.by_kid.end() ? nullptr : &it->second;
}

Verdict Verifier::verify(std::string_view token, int64_t now) const {
    Verdict v;
    if (token.empty()) return v;  // Missing
    v.outcome = Outcome::Malformed;
    auto parts = split_token(token);
    if (!parts) return v;

    // The algorithm is pinned before any key is used: libjwt 1.x verifies with whatever
    // alg the token names, so a token must never get to choose.
    auto alg_it = parts->header.find("alg");
    if (alg_it == parts->header.end() || !alg_it->is_string()) return v;
    const std::string& alg = alg_it->get_ref<const std::string&>();
    if (std::find(options_.algorithms.begin(), options_.algorithms.end(), alg) == options_.algorithms.end()) {
        v.outcome = Outcome::AlgNotAllowed;
        return v;
    }
    // libjwt refuses a "typ" other than JWT; say so as malformed, not as a bad signature.
    if (auto typ = parts->header.find("typ"); typ != parts->header.end()) {
        if (!typ->is_string() || !ascii_iequals(typ->get_ref<const std::string&>(), "JWT")) return v;
    }

    const Key* key = key_for(parts->header);
    if (!key) {
        v.outcome = Outcome::UnknownKey;
        return v;
    }
    if (!key_fits_alg(key->kind, alg) || (!key->alg.empty() && key->alg != alg)) {
        v.outcome = Outcome::AlgNotAllowed;
        return v;
    }

    if (!verified_->contains(token)) {
        // libjwt needs a NUL-terminated token.
        std::string text(token);
        jwt_t* raw = nullptr;
        int rc = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key->material.data()),
                            static_cast<int>(key->material.size()));
        std::unique_ptr<jwt_t, JwtFree> decoded(raw);
        if (rc != 0 || !decoded || jwt_get_alg(decoded.get()) != jwt_str_alg(alg.c_str())) {
            v.outcome = Outcome::BadSignature;
            return v;
        }
        verified_->insert(token);
    }

    bool bad = false;
    auto exp = numeric_date(parts->payload, "exp", bad);
    auto nbf = numeric_date(parts->payload, "nbf", bad);
    if (bad) return v;  // Malformed
    const int64_t leeway = options_.leeway.count();
    // exp is the first second at which the token is no longer accepted (RFC 7519 4.1.4).
    // Written so that no sum can overflow, whatever the token's numbers.
    if (exp && now - leeway >= *exp) {
        v.outcome = Outcome::Expired;
        return v;
    }
    if (nbf && now + leeway < *nbf) {
        v.outcome = Outcome::NotYetValid;
        return v;
    }
    if (!options_.issuer.empty()) {
        auto iss = parts->payload.find("iss");
        if (iss == parts->payload.end() || *iss != options_.issuer) {
            v.outcome = Outcome::WrongIssuer;
            return v;
        }
    }
    if (!options_.audience.empty()) {
        auto aud = parts->payload.find("aud");
        if (aud == parts->payload.end() || !audience_matches(*aud, options_.audience)) {
            v.outcome = Outcome::WrongAudience;
            return v;
        }
    }
    v.outcome = Outcome::Ok;
    v.expires_at = exp;
    v.claims = std::move(parts->payload);
    return v;
}

bool Verifier::allows_channel(const Verdict& verdict, std::string_view channel) const {
    if (options_.channels_claim.empty()) return true;
    if (!verdict.ok()) return false;
    auto claim = verdict.claims.find(options_.channels_claim);
    return claim != verdict.claims.end() && channel_allowed(*claim, channel);
}

}  // namespace sluice::plugins::jwt
