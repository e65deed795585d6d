#include "plugins/jwt/keys.h"

#include <memory>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "plugins/jwt/base64url.h"

namespace sluice::plugins::jwt {
namespace {

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); } };
struct BnFree { void operator()(BIGNUM* b) const { BN_free(b); } };
struct BldFree { void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
using Bio = std::unique_ptr<BIO, BioFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A private key with a passphrase is refused instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) { return -1; }

std::optional<std::string> public_pem(EVP_PKEY* key) {
    Bio out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_PUBKEY(out.get(), key) != 1) return std::nullopt;
    char* data = nullptr;
    long len = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<size_t>(len));
}

// Classifies an OpenSSL key and keeps its public half as PEM.
std::optional<Key> key_from_pkey(EVP_PKEY* pkey, std::string& error) {
    Key key;
    switch (EVP_PKEY_get_base_id(pkey)) {
        case EVP_PKEY_RSA:
            if (EVP_PKEY_get_bits(pkey) < 2048) {
                error = "RSA key has " + std::to_string(EVP_PKEY_get_bits(pkey)) +
                        " bits; at least 2048 are needed";
                return std::nullopt;
            }
            key.kind = KeyKind::Rsa;
            break;
        case EVP_PKEY_EC: {
            char group[64] = {};
            size_t len = 0;
            if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1) {
                error = "EC key without a named curve";
                return std::nullopt;
            }
            std::string_view name(group, len);
            if (name == "prime256v1") {
                key.kind = KeyKind::EcP256;
            } else if (name == "secp384r1") {
                key.kind = KeyKind::EcP384;
            } else {
                error = "EC key on curve " + std::string(name) + "; P-256 or P-384 are supported";
                return std::nullopt;
            }
            break;
        }
        default:
            error = "unsupported key type (RSA or EC expected)";
            return std::nullopt;
    }
    auto pem = public_pem(pkey);
    if (!pem) {
        error = "cannot write the public key";
        return std::nullopt;
    }
    key.material = std::move(*pem);
    return key;
}

std::optional<std::string> b64_field(const nlohmann::json& jwk, const char* name) {
    auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string()) return std::nullopt;
    return base64url_decode(it->get_ref<const std::string&>());
}

std::unique_ptr<BIGNUM, BnFree> to_bn(const std::string& bytes) {
    return std::unique_ptr<BIGNUM, BnFree>(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

// Builds an OpenSSL public key from parameters (OpenSSL 3: no hand-made ASN.1).
Pkey pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* out = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return nullptr;
    }
    return Pkey(out);
}

std::optional<Key> rsa_from_jwk(const nlohmann::json& jwk, std::string& error) {
    auto n = b64_field(jwk, "n");
    auto e = b64_field(jwk, "e");
    if (!n || !e || n->empty() || e->empty()) {
        error = "RSA key needs base64url \"n\" and \"e\"";
        return std::nullopt;
    }
    auto bn_n = to_bn(*n);
    auto bn_e = to_bn(*e);
    std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
    if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
        error = "cannot read the RSA key";
        return std::nullopt;
    }
    Pkey pkey = pkey_from_params("RSA", bld.get());
    if (!pkey) {
        error = "invalid RSA key";
        return std::nullopt;
    }
    return key_from_pkey(pkey.get(), error);
}

std::optional<Key> ec_from_jwk(const nlohmann::json& jwk, std::string& error) {
    auto crv = jwk.find("crv");
    const char* group = nullptr;
    size_t coord = 0;
    if (crv != jwk.end() && *crv == "P-256") {
        group = "prime256v1";
        coord = 32;
    } else if (crv != jwk.end() && *crv == "P-384") {
        group = "secp384r1";
        coord = 48;
    } else {
        error = "EC key needs \"crv\" P-256 or P-384";
        return std::nullopt;
    }
    auto x = b64_field(jwk, "x");
    auto y = b64_field(jwk, "y");
    if (!x || !y || x->size() != coord || y->size() != coord) {
        error = "EC key needs base64url \"x\" and \"y\" of " + std::to_string(coord) + " bytes";
        return std::nullopt;
    }
    std::string point = "\x04" + *x + *y;  // uncompressed point (SEC 1)
    std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
        error = "cannot read the EC key";
        return std::nullopt;
    }
    Pkey pkey = pkey_from_params("EC", bld.get());
    if (!pkey) {
        error = "invalid EC key (the point is not on the curve?)";
        return std::nullopt;
    }
    return key_from_pkey(pkey.get(), error);
}

std::optional<Key> key_from_jwk(const nlohmann::json& jwk, std::string& error) {
    auto kty = jwk.find("kty");
    if (kty == jwk.end() || !kty->is_string()) {
        error = "key without \"kty\"";
        return std::nullopt;
    }
    std::optional<Key> key;
    if (*kty == "RSA") {
        key = rsa_from_jwk(jwk, error);
    } else if (*kty == "EC") {
        key = ec_from_jwk(jwk, error);
    } else if (*kty == "oct") {
        auto k = b64_field(jwk, "k");
        if (!k || k->empty()) {
            error = "oct key needs a base64url \"k\"";
            return std::nullopt;
        }
        key = Key{KeyKind::Hmac, std::move(*k), {}};
    } else {
        error = "unsupported \"kty\" " + kty->dump() + " (RSA, EC or oct)";
        return std::nullopt;
    }
    if (!key) return std::nullopt;
    if (auto alg = jwk.find("alg"); alg != jwk.end()) {
        if (!alg->is_string() || !key_fits_alg(key->kind, alg->get_ref<const std::string&>())) {
            error = "\"alg\" " + alg->dump() + " does not fit the key";
            return std::nullopt;
        }
        key->alg = alg->get<std::string>();
    }
    return key;
}

}  // namespace

bool key_fits_alg(KeyKind kind, std::string_view alg) {
    switch (kind) {
        case KeyKind::Hmac: return alg == "HS256" || alg == "HS384" || alg == "HS512";
        case KeyKind::Rsa: return alg == "RS256" || alg == "RS384" || alg == "RS512";
        case KeyKind::EcP256: return alg == "ES256";
        case KeyKind::EcP384: return alg == "ES384";
    }
    return false;
}

std::optional<Key> key_from_pem(std::string_view pem, std::string& error) {
    Bio in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!in) {
        error = "out of memory";
        return std::nullopt;
    }
    Pkey pkey(PEM_read_bio_PUBKEY(in.get(), nullptr, no_passphrase, nullptr));
    if (!pkey) {
        in.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
        pkey.reset(PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase, nullptr));
    }
    if (!pkey) {
        error = "not a PEM public key (or unencrypted private key)";
        return std::nullopt;
    }
    return key_from_pkey(pkey.get(), error);
}

std::optional<KeySet> keys_from_jwks(std::string_view json_text, std::string& error) {
    auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
        error = "not a JSON Web Key Set ({\"keys\": [...]})";
        return std::nullopt;
    }
    KeySet set;
    size_t index = 0;
    for (const auto& jwk : doc["keys"]) {
        std::string where = "key " + std::to_string(index++);
        if (!jwk.is_object()) {
            error = where + ": not an object";
            return std::nullopt;
        }
        if (auto use = jwk.find("use"); use != jwk.end() && *use != "sig") continue;
        auto kid = jwk.find("kid");
        if (kid == jwk.end() || !kid->is_string() || kid->get_ref<const std::string&>().empty()) {
            error = where + ": no \"kid\"";
            return std::nullopt;
        }
        const std::string& id = kid->get_ref<const std::string&>();
        where += " (kid " + kid->dump() + ")";
        std::string why;
        auto key = key_from_jwk(jwk, why);
        if (!key) {
            error = where + ": " + why;
            return std::nullopt;
        }
        if (!set.by_kid.emplace(id, std::move(*key)).second) {
            error = where + ": the kid appears twice";
            return std::nullopt;
        }
    }
    if (set.by_kid.empty()) {
        error = "the key set has no signing key";
        return std::nullopt;
    }
    return set;
}

}  // namespace sluice::plugins::jwt
