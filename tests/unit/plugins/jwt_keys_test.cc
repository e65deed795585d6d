// The jwt plugin's keys: JWKS parsing (RSA, EC and oct JWKs turned into OpenSSL keys) and
// the strict base64url of JWTs and JWKs.
#include "plugins/jwt/keys.h"

#include <catch2/catch.hpp>

#include "plugins/jwt/base64url.h"
#include "tests/unit/plugins/jwt_test_tokens.h"

using namespace sluice::plugins::jwt;
using nlohmann::json;

TEST_CASE("base64url round-trips and refuses padding and the standard alphabet", "[plugins][jwt]") {
    for (std::string s : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                          std::string("foob"), std::string("\xff\xfe\x00\x01", 4)}) {
        CHECK(base64url_decode(base64url_encode(s)) == s);
    }
    CHECK(base64url_encode("\xfb\xff") == "-_8");
    CHECK(base64url_decode("-_8") == std::string("\xfb\xff"));
    CHECK_FALSE(base64url_decode("Zg=="));
    CHECK_FALSE(base64url_decode("+/8"));
    CHECK_FALSE(base64url_decode("Z"));     // 6 bits: no whole byte
    CHECK_FALSE(base64url_decode("Zh"));    // non-zero unused bits: not canonical
    CHECK_FALSE(base64url_decode("Zm 9v"));
}

TEST_CASE("a JWKS with RSA, EC and oct keys loads by kid", "[plugins][jwt]") {
    json set = {{"keys",
                 {jwt_test::rsa_jwk(jwt_test::rsa_key().get(), "r"),
                  jwt_test::ec_jwk(jwt_test::ec256_key().get(), "e256", "P-256"),
                  jwt_test::ec_jwk(jwt_test::ec384_key().get(), "e384", "P-384"),
                  {{"kty", "oct"}, {"kid", "h"}, {"k", base64url_encode("secret")}, {"alg", "HS512"}},
                  {{"kty", "RSA"}, {"kid", "enc"}, {"use", "enc"}, {"n", "AQAB"}, {"e", "AQAB"}}}}};
    std::string error;
    auto keys = keys_from_jwks(set.dump(), error);
    INFO(error);
    REQUIRE(keys);
    CHECK(keys->by_kid.size() == 4);  // the "enc" key is skipped
    CHECK(keys->by_kid.at("r").kind == KeyKind::Rsa);
    CHECK(keys->by_kid.at("r").material == jwt_test::public_pem(jwt_test::rsa_key().get()));
    CHECK(keys->by_kid.at("e256").kind == KeyKind::EcP256);
    CHECK(keys->by_kid.at("e256").material == jwt_test::public_pem(jwt_test::ec256_key().get()));
    CHECK(keys->by_kid.at("e384").kind == KeyKind::EcP384);
    CHECK(keys->by_kid.at("h").kind == KeyKind::Hmac);
    CHECK(keys->by_kid.at("h").material == "secret");
    CHECK(keys->by_kid.at("h").alg == "HS512");
}

TEST_CASE("invalid JWKS documents and keys are refused with a reason", "[plugins][jwt]") {
    json rsa = jwt_test::rsa_jwk(jwt_test::rsa_key().get(), "r");
    json ec = jwt_test::ec_jwk(jwt_test::ec256_key().get(), "e", "P-256");
    auto refused = [](const std::string& text, const std::string& expect) {
        std::string error;
        CHECK_FALSE(keys_from_jwks(text, error));
        INFO(error);
        CHECK(error.find(expect) != std::string::npos);
    };
    refused("not json", "not a JSON Web Key Set");
    refused("[]", "not a JSON Web Key Set");
    refused(R"({"keys":{}})", "not a JSON Web Key Set");
    refused(R"({"keys":[]})", "no signing key");
    refused(R"({"keys":[7]})", "not an object");
    json no_kid = rsa;
    no_kid.erase("kid");
    refused(json{{"keys", {no_kid}}}.dump(), "no \"kid\"");
    refused(json{{"keys", {rsa, rsa}}}.dump(), "appears twice");
    json bad = rsa;
    bad["kty"] = "OKP";
    refused(json{{"keys", {bad}}}.dump(), "unsupported \"kty\"");
    bad = rsa;
    bad["n"] = "not+base64";
    refused(json{{"keys", {bad}}}.dump(), "\"n\" and \"e\"");
    bad = rsa;
    bad["n"] = base64url_encode(std::string(64, '\x7f'));  // 512 bits
    refused(json{{"keys", {bad}}}.dump(), "at least 2048");
    bad = rsa;
    bad["alg"] = "ES256";
    refused(json{{"keys", {bad}}}.dump(), "does not fit the key");
    bad = ec;
    bad["crv"] = "P-521";
    refused(json{{"keys", {bad}}}.dump(), "P-256 or P-384");
    bad = ec;
    bad["x"] = base64url_encode(std::string(31, 'x'));
    refused(json{{"keys", {bad}}}.dump(), "of 32 bytes");
    bad = ec;
    std::string y = *base64url_decode(bad["y"].get<std::string>());
    y[31] = static_cast<char>(y[31] ^ 1);  // a point off the curve
    bad["y"] = base64url_encode(y);
    refused(json{{"keys", {bad}}}.dump(), "invalid EC key");
    refused(R"({"keys":[{"kty":"oct","kid":"h"}]})", "\"k\"");
}

TEST_CASE("key kinds fit only their algorithms", "[plugins][jwt]") {
    CHECK(key_fits_alg(KeyKind::Hmac, "HS384"));
    CHECK_FALSE(key_fits_alg(KeyKind::Hmac, "RS256"));
    CHECK(key_fits_alg(KeyKind::Rsa, "RS512"));
    CHECK_FALSE(key_fits_alg(KeyKind::Rsa, "HS256"));
    CHECK(key_fits_alg(KeyKind::EcP256, "ES256"));
    CHECK_FALSE(key_fits_alg(KeyKind::EcP256, "ES384"));
    CHECK(key_fits_alg(KeyKind::EcP384, "ES384"));
    CHECK_FALSE(key_fits_alg(KeyKind::EcP384, "none"));
}

TEST_CASE("key_from_pem reads public and private PEM keys and refuses others", "[plugins][jwt]") {
    std::string error;
    auto pub = key_from_pem(jwt_test::public_pem(jwt_test::ec384_key().get()), error);
    REQUIRE(pub);
    CHECK(pub->kind == KeyKind::EcP384);
    auto priv = key_from_pem(jwt_test::private_pem(jwt_test::rsa_key().get()), error);
    REQUIRE(priv);
    CHECK(priv->kind == KeyKind::Rsa);
    CHECK(priv->material == jwt_test::public_pem(jwt_test::rsa_key().get()));
    CHECK(priv->material.find("PRIVATE") == std::string::npos);
    CHECK_FALSE(key_from_pem("", error));
    jwt_test::Pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
    REQUIRE(ed);
    CHECK_FALSE(key_from_pem(jwt_test::public_pem(ed.get()), error));
    CHECK(error.find("unsupported key type") != std::string::npos);
}
