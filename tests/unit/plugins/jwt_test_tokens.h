// Test tokens and keys for the jwt plugin's unit tests, made here with OpenSSL's EVP API
// (independently of libjwt, which the code under test uses to verify): RSA and EC keys
// generated per process, JWS compact tokens signed with HMAC, RSA PKCS#1 v1.5 or ECDSA
// (DER signatures turned into the JWS r||s form), JWKs of those keys, temp files.
#pragma once

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include "plugins/jwt/base64url.h"

namespace jwt_test {

using sluice::plugins::jwt::base64url_encode;

struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
using Pkey = std::shared_ptr<EVP_PKEY>;

inline void require(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("openssl: ") + what);
}

inline std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(len));
}

inline std::string public_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    require(PEM_write_bio_PUBKEY(bio.get(), key) == 1, "write public key");
    return bio_text(bio.get());
}

inline std::string private_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    require(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
            "write private key");
    return bio_text(bio.get());
}

inline Pkey make_rsa(unsigned bits = 2048) {
    EVP_PKEY* k = EVP_RSA_gen(bits);
    require(k != nullptr, "RSA keygen");
    return Pkey(k, EVP_PKEY_free);
}

inline Pkey make_ec(const char* curve) {
    EVP_PKEY* k = EVP_EC_gen(curve);
    require(k != nullptr, "EC keygen");
    return Pkey(k, EVP_PKEY_free);
}

// Keys shared by the tests of one run (RSA generation is slow).
inline Pkey rsa_key() { static Pkey k = make_rsa(); return k; }
inline Pkey other_rsa_key() { static Pkey k = make_rsa(); return k; }
inline Pkey ec256_key() { static Pkey k = make_ec("P-256"); return k; }
inline Pkey ec384_key() { static Pkey k = make_ec("P-384"); return k; }

inline const EVP_MD* digest_of(const std::string& alg) {
    std::string bits = alg.substr(2);
    if (bits == "256") return EVP_sha256();
    if (bits == "384") return EVP_sha384();
    return EVP_sha512();
}

inline std::string evp_sign(EVP_PKEY* key, const EVP_MD* md, const std::string& input) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    require(EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) == 1, "sign init");
    size_t len = 0;
    auto in = reinterpret_cast<const unsigned char*>(input.data());
    require(EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) == 1, "sign size");
    std::string sig(len, '\0');
    require(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) == 1,
            "sign");
    sig.resize(len);
    return sig;
}

// ECDSA: OpenSSL gives DER (SEQUENCE of r, s); JWS wants r||s, each of the curve's size.
inline std::string der_to_jws(const std::string& der, int coord) {
    auto p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), ECDSA_SIG_free);
    require(sig != nullptr, "parse ECDSA signature");
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::string out(static_cast<size_t>(2 * coord), '\0');
    auto buf = reinterpret_cast<unsigned char*>(out.data());
    require(BN_bn2binpad(r, buf, coord) == coord && BN_bn2binpad(s, buf + coord, coord) == coord, "r||s");
    return out;
}

// A compact JWS of `header` and `payload` (JSON objects) signed for header["alg"]: with
// `secret` for HS*, with `key` for RS*/ES*. Any other alg ("none") gets an empty signature.
inline std::string sign(const nlohmann::json& header, const nlohmann::json& payload, const Pkey& key = nullptr,
                        const std::string& secret = {}) {
    std::string alg = header.at("alg");
    std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
    std::string sig;
    if (alg.size() != 5) {
        sig = "";
    } else if (alg.rfind("HS", 0) == 0) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        require(HMAC(digest_of(alg), secret.data(), static_cast<int>(secret.size()),
                     reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len) != nullptr,
                "HMAC");
        sig.assign(reinterpret_cast<char*>(mac), len);
    } else if (alg.rfind("RS", 0) == 0) {
        sig = evp_sign(key.get(), digest_of(alg), input);
    } else {
        sig = der_to_jws(evp_sign(key.get(), digest_of(alg), input), alg == "ES256" ? 32 : 48);
    }
    return input + "." + base64url_encode(sig);
}

inline std::string bn_param(EVP_PKEY* key, const char* name, int pad = 0) {
    BIGNUM* bn = nullptr;
    require(EVP_PKEY_get_bn_param(key, name, &bn) == 1, name);
    int len = pad ? pad : BN_num_bytes(bn);
    std::string out(static_cast<size_t>(len), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
    BN_free(bn);
    return base64url_encode(out);
}

inline nlohmann::json rsa_jwk(EVP_PKEY* key, const std::string& kid) {
    return {{"kty", "RSA"}, {"kid", kid}, {"use", "sig"},
            {"n", bn_param(key, OSSL_PKEY_PARAM_RSA_N)}, {"e", bn_param(key, OSSL_PKEY_PARAM_RSA_E)}};
}

inline nlohmann::json ec_jwk(EVP_PKEY* key, const std::string& kid, const std::string& crv) {
    int coord = crv == "P-256" ? 32 : 48;
    return {{"kty", "EC"}, {"kid", kid}, {"crv", crv},
            {"x", bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, coord)},
            {"y", bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, coord)}};
}

// A file in the temp directory with `text`, removed when the object goes.
class TempFile {
  public:
    explicit TempFile(const std::string& text) {
        static std::atomic<int> n{0};
        path_ = (std::filesystem::temp_directory_path() /
                 ("sluice-jwt-test-" + std::to_string(getpid()) + "-" + std::to_string(n++)))
                    .string();
        std::ofstream(path_, std::ios::binary) << text;
    }
    ~TempFile() { std::remove(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace jwt_test
