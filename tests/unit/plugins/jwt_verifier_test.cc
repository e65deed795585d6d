// The jwt plugin's verifier: tokens signed here with OpenSSL (jwt_test_tokens.h) against
// keys from a PEM file, an HMAC secret and a JWKS file; every refusal has its case.
#include "plugins/jwt/verifier.h"

#include <catch2/catch.hpp>

#include "plugins/jwt/base64url.h"
#include "tests/unit/plugins/jwt_test_tokens.h"

using namespace sluice::plugins::jwt;
using nlohmann::json;

namespace {

constexpr int64_t kNow = 1'800'000'000;

std::shared_ptr<const Verifier> verifier_for(Options opts) {
    std::string error;
    auto v = Verifier::create(opts, error);
    INFO(error);
    REQUIRE(v);
    return v;
}

Options rs256_options(const std::string& key_file) {
    Options o;
    o.algorithms = {"RS256"};
    o.key_file = key_file;
    o.issuer = "https://auth.example.com";
    o.audience = "sluice";
    return o;
}

json good_claims() {
    return {{"sub", "u1"}, {"iss", "https://auth.example.com"}, {"aud", "sluice"}, {"exp", kNow + 600},
            {"channels", {"analysis:1", "jobs:*"}}};
}

std::string rs256(const json& claims, const jwt_test::Pkey& key = jwt_test::rsa_key()) {
    return jwt_test::sign({{"alg", "RS256"}, {"typ", "JWT"}}, claims, key);
}

}  // namespace

TEST_CASE("a valid RS256 token verifies and gives its expiry and claims", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    auto v = verifier_for(rs256_options(pem.path()));
    Verdict r = v->verify(rs256(good_claims()), kNow);
    CHECK(r.outcome == Outcome::Ok);
    CHECK(outcome_status(r.outcome) == 200);
    REQUIRE(r.expires_at);
    CHECK(*r.expires_at == kNow + 600);
    CHECK(r.claims.at("sub") == "u1");
}

TEST_CASE("every supported algorithm verifies with its own kind of key", "[plugins][jwt]") {
    for (std::string alg : {"RS256", "RS384", "RS512"}) {
        jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
        Options o;
        o.algorithms = {alg};
        o.key_file = pem.path();
        INFO(alg);
        CHECK(verifier_for(o)->verify(jwt_test::sign({{"alg", alg}}, {{"exp", kNow + 5}}, jwt_test::rsa_key()), kNow).ok());
    }
    for (std::string alg : {"HS256", "HS384", "HS512"}) {
        Options o;
        o.algorithms = {alg};
        o.secret = "a secret of some length";
        INFO(alg);
        CHECK(verifier_for(o)->verify(jwt_test::sign({{"alg", alg}}, {{"exp", kNow + 5}}, nullptr, o.secret), kNow).ok());
        CHECK(verifier_for(o)->verify(jwt_test::sign({{"alg", alg}}, {{"exp", kNow + 5}}, nullptr, "other"), kNow)
                  .outcome == Outcome::BadSignature);
    }
    for (auto [alg, key] : {std::pair{std::string("ES256"), jwt_test::ec256_key()},
                            std::pair{std::string("ES384"), jwt_test::ec384_key()}}) {
        jwt_test::TempFile pem(jwt_test::public_pem(key.get()));
        Options o;
        o.algorithms = {alg};
        o.key_file = pem.path();
        INFO(alg);
        CHECK(verifier_for(o)->verify(jwt_test::sign({{"alg", alg}}, {{"exp", kNow + 5}}, key), kNow).ok());
    }
}

TEST_CASE("a private key file verifies with its public half", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::private_pem(jwt_test::rsa_key().get()));
    auto v = verifier_for(rs256_options(pem.path()));
    CHECK(v->verify(rs256(good_claims()), kNow).ok());
}

TEST_CASE("expired and not-yet-valid tokens are refused, within leeway accepted", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    Options o = rs256_options(pem.path());
    json expired = good_claims();
    expired["exp"] = kNow - 10;
    json exactly_now = good_claims();
    exactly_now["exp"] = kNow;
    json future = good_claims();
    future["nbf"] = kNow + 10;

    auto strict = verifier_for(o);
    CHECK(strict->verify(rs256(expired), kNow).outcome == Outcome::Expired);
    CHECK(strict->verify(rs256(exactly_now), kNow).outcome == Outcome::Expired);
    CHECK(strict->verify(rs256(future), kNow).outcome == Outcome::NotYetValid);
    CHECK(outcome_status(Outcome::Expired) == 401);

    o.leeway = std::chrono::seconds(30);
    auto lenient = verifier_for(o);
    CHECK(lenient->verify(rs256(expired), kNow).ok());
    CHECK(lenient->verify(rs256(future), kNow).ok());
    expired["exp"] = kNow - 31;
    future["nbf"] = kNow + 31;
    CHECK(lenient->verify(rs256(expired), kNow).outcome == Outcome::Expired);
    CHECK(lenient->verify(rs256(future), kNow).outcome == Outcome::NotYetValid);
}

TEST_CASE("exp and nbf that are not numbers make the token malformed", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    auto v = verifier_for(rs256_options(pem.path()));
    json c = good_claims();
    c["exp"] = "tomorrow";
    CHECK(v->verify(rs256(c), kNow).outcome == Outcome::Malformed);
    c = good_claims();
    c["nbf"] = json::array();
    CHECK(v->verify(rs256(c), kNow).outcome == Outcome::Malformed);
    c = good_claims();
    c["exp"] = 9.3e18;  // beyond any date: refused, not cast
    CHECK(v->verify(rs256(c), kNow).outcome == Outcome::Malformed);
    c = good_claims();
    c["exp"] = INT64_MAX;  // far future, no overflow with leeway
    CHECK(v->verify(rs256(c), kNow).ok());
}

TEST_CASE("a token signed with another key has a bad signature", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    auto v = verifier_for(rs256_options(pem.path()));
    Verdict r = v->verify(rs256(good_claims(), jwt_test::other_rsa_key()), kNow);
    CHECK(r.outcome == Outcome::BadSignature);
    CHECK(r.claims.is_null());  // nothing of an unverified token is handed out
}

TEST_CASE("a token whose payload was changed after signing has a bad signature", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    auto v = verifier_for(rs256_options(pem.path()));
    std::string token = rs256(good_claims());
    json widened = good_claims();
    widened["channels"] = {"*"};
    auto dot1 = token.find('.');
    auto dot2 = token.find('.', dot1 + 1);
    std::string forged = token.substr(0, dot1 + 1) + base64url_encode(widened.dump()) + token.substr(dot2);
    CHECK(v->verify(forged, kNow).outcome == Outcome::BadSignature);
}

TEST_CASE("wrong issuer and wrong audience are refused; aud may be an array", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    auto v = verifier_for(rs256_options(pem.path()));
    json c = good_claims();
    c["iss"] = "https://evil.example.com";
    CHECK(v->verify(rs256(c), kNow).outcome == Outcome::WrongIssuer);
    c.erase("iss");
    CHECK(v->verify(rs256(c), kNow).outcome == Outcome::WrongIssuer);
    c = good_claims();
    c["aud"] = "other";
    CHECK(v->verify(rs256(c), kNow).outcome == Outcome::WrongAudience);
    c["aud"] = {"other", "another"};
    CHECK(v->verify(rs256(c), kNow).outcome == Outcome::WrongAudience);
    c["aud"] = {"other", "sluice"};
    CHECK(v->verify(rs256(c), kNow).ok());
    c.erase("aud");
    CHECK(v->verify(rs256(c), kNow).outcome == Outcome::WrongAudience);
}

TEST_CASE("alg none is refused whatever the key", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    auto rsa = verifier_for(rs256_options(pem.path()));
    std::string none = jwt_test::sign({{"alg", "none"}, {"typ", "JWT"}}, good_claims());
    CHECK(rsa->verify(none, kNow).outcome == Outcome::AlgNotAllowed);
    CHECK(rsa->verify(jwt_test::sign({{"alg", "None"}}, good_claims()), kNow).outcome == Outcome::AlgNotAllowed);

    Options o;
    o.algorithms = {"HS256"};
    o.secret = "s3cret";
    CHECK(verifier_for(o)->verify(none, kNow).outcome == Outcome::AlgNotAllowed);
}

TEST_CASE("an HS256 token signed with the RSA public key is refused (algorithm confusion)",
          "[plugins][jwt]") {
    std::string public_key = jwt_test::public_pem(jwt_test::rsa_key().get());
    jwt_test::TempFile pem(public_key);
    // The attacker knows the public key and uses its PEM text as the HMAC secret.
    std::string forged = jwt_test::sign({{"alg", "HS256"}, {"typ", "JWT"}}, good_claims(), nullptr, public_key);
    auto v = verifier_for(rs256_options(pem.path()));
    CHECK(v->verify(forged, kNow).outcome == Outcome::AlgNotAllowed);

    // Even with HS256 pinned next to RS256 (possible with a JWKS holding both kinds), the
    // RSA key is never used as an HMAC secret.
    json rsa = jwt_test::rsa_jwk(jwt_test::rsa_key().get(), "rsa");
    json oct = {{"kty", "oct"}, {"kid", "hmac"}, {"k", base64url_encode("another secret")}};
    jwt_test::TempFile jwks(json{{"keys", {rsa, oct}}}.dump());
    Options both;
    both.algorithms = {"RS256", "HS256"};
    both.jwks_file = jwks.path();
    std::string confused =
        jwt_test::sign({{"alg", "HS256"}, {"kid", "rsa"}}, good_claims(), nullptr, public_key);
    CHECK(verifier_for(both)->verify(confused, kNow).outcome == Outcome::AlgNotAllowed);
    // The oct key itself works for HS256.
    CHECK(verifier_for(both)
              ->verify(jwt_test::sign({{"alg", "HS256"}, {"kid", "hmac"}}, good_claims(), nullptr, "another secret"),
                       kNow)
              .ok());
}

TEST_CASE("an algorithm not pinned is refused even when the key could verify it", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    auto v = verifier_for(rs256_options(pem.path()));
    std::string rs512 = jwt_test::sign({{"alg", "RS512"}}, good_claims(), jwt_test::rsa_key());
    CHECK(v->verify(rs512, kNow).outcome == Outcome::AlgNotAllowed);
}

TEST_CASE("JWKS: the kid picks the key; an unknown kid is refused", "[plugins][jwt]") {
    json keys = {{"keys",
                  {jwt_test::rsa_jwk(jwt_test::rsa_key().get(), "k1"),
                   jwt_test::rsa_jwk(jwt_test::other_rsa_key().get(), "k2"),
                   jwt_test::ec_jwk(jwt_test::ec256_key().get(), "e1", "P-256")}}};
    jwt_test::TempFile jwks(keys.dump());
    Options o;
    o.algorithms = {"RS256", "ES256"};
    o.jwks_file = jwks.path();
    auto v = verifier_for(o);
    auto token = [](const std::string& alg, const std::string& kid, const jwt_test::Pkey& key) {
        return jwt_test::sign({{"alg", alg}, {"kid", kid}}, {{"exp", kNow + 60}}, key);
    };
    CHECK(v->verify(token("RS256", "k1", jwt_test::rsa_key()), kNow).ok());
    CHECK(v->verify(token("RS256", "k2", jwt_test::other_rsa_key()), kNow).ok());
    CHECK(v->verify(token("ES256", "e1", jwt_test::ec256_key()), kNow).ok());
    CHECK(v->verify(token("RS256", "k2", jwt_test::rsa_key()), kNow).outcome == Outcome::BadSignature);
    CHECK(v->verify(token("RS256", "k3", jwt_test::rsa_key()), kNow).outcome == Outcome::UnknownKey);
    CHECK(v->verify(token("ES256", "k1", jwt_test::ec256_key()), kNow).outcome == Outcome::AlgNotAllowed);
    // Several keys and no kid: no key is guessed.
    CHECK(v->verify(jwt_test::sign({{"alg", "RS256"}}, {{"exp", kNow + 60}}, jwt_test::rsa_key()), kNow).outcome ==
          Outcome::UnknownKey);
}

TEST_CASE("JWKS: a set of one key needs no kid", "[plugins][jwt]") {
    jwt_test::TempFile jwks(json{{"keys", {jwt_test::ec_jwk(jwt_test::ec384_key().get(), "only", "P-384")}}}.dump());
    Options o;
    o.algorithms = {"ES384"};
    o.jwks_file = jwks.path();
    CHECK(verifier_for(o)->verify(jwt_test::sign({{"alg", "ES384"}}, {{"exp", kNow + 60}}, jwt_test::ec384_key()), kNow)
              .ok());
}

TEST_CASE("malformed tokens are refused as malformed", "[plugins][jwt]") {
    Options o;
    o.algorithms = {"HS256"};
    o.secret = "s";
    auto v = verifier_for(o);
    std::string good = jwt_test::sign({{"alg", "HS256"}}, {{"exp", kNow + 60}}, nullptr, "s");
    REQUIRE(v->verify(good, kNow).ok());
    CHECK(v->verify("", kNow).outcome == Outcome::Missing);
    CHECK(outcome_status(Outcome::Missing) == 401);
    for (std::string bad : {std::string("abc"), std::string("a.b"), good + ".x", std::string("..."),
                            "!!" + good, good.substr(0, good.rfind('.')) + ".a+b/",
                            base64url_encode("[1]") + "." + base64url_encode("{}") + ".",
                            base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode("not json") + ".",
                            base64url_encode(R"({"alg":7})") + "." + base64url_encode("{}") + ".",
                            base64url_encode(R"({"typ":"JWT"})") + "." + base64url_encode("{}") + "."}) {
        INFO(bad);
        CHECK(v->verify(bad, kNow).outcome == Outcome::Malformed);
    }
    // A "typ" other than JWT (libjwt 1.x refuses it): malformed, not a bad signature.
    CHECK(v->verify(jwt_test::sign({{"alg", "HS256"}, {"typ", "at+jwt"}}, {{"exp", kNow + 60}}, nullptr, "s"), kNow)
              .outcome == Outcome::Malformed);
}

TEST_CASE("channels claim: exact names and prefixes ending in *", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    Options o = rs256_options(pem.path());
    o.channels_claim = "channels";
    auto v = verifier_for(o);
    Verdict r = v->verify(rs256(good_claims()), kNow);
    REQUIRE(r.ok());
    CHECK(v->allows_channel(r, "analysis:1"));
    CHECK_FALSE(v->allows_channel(r, "analysis:12"));
    CHECK_FALSE(v->allows_channel(r, "analysis:2"));
    CHECK(v->allows_channel(r, "jobs:"));
    CHECK(v->allows_channel(r, "jobs:7"));
    CHECK(v->allows_channel(r, "jobs:7:log"));
    CHECK_FALSE(v->allows_channel(r, "jobs"));
    CHECK_FALSE(v->allows_channel(r, "job:7"));
    CHECK(outcome_status(Outcome::ChannelNotAllowed) == 403);

    json no_claim = good_claims();
    no_claim.erase("channels");
    Verdict bare = v->verify(rs256(no_claim), kNow);
    REQUIRE(bare.ok());
    CHECK_FALSE(v->allows_channel(bare, "analysis:1"));

    json one = good_claims();
    one["channels"] = "*";
    Verdict all = v->verify(rs256(one), kNow);
    CHECK(v->allows_channel(all, "anything"));

    json numbers = good_claims();
    numbers["channels"] = {1, 2};
    CHECK_FALSE(v->allows_channel(v->verify(rs256(numbers), kNow), "1"));

    Options open = rs256_options(pem.path());  // no channels_claim: the route decides
    auto v2 = verifier_for(open);
    CHECK(v2->allows_channel(v2->verify(rs256(no_claim), kNow), "analysis:9"));
}

TEST_CASE("Verifier::create refuses options it cannot honour", "[plugins][jwt]") {
    jwt_test::TempFile rsa(jwt_test::public_pem(jwt_test::rsa_key().get()));
    jwt_test::TempFile ec(jwt_test::public_pem(jwt_test::ec256_key().get()));
    jwt_test::TempFile garbage("not a key");
    jwt_test::TempFile small(jwt_test::public_pem(jwt_test::make_rsa(1024).get()));
    auto refused = [](Options o, const std::string& expect) {
        std::string error;
        auto v = Verifier::create(o, error);
        INFO(error);
        CHECK_FALSE(v);
        CHECK(error.find(expect) != std::string::npos);
    };
    Options o;
    o.key_file = rsa.path();
    refused(o, "algorithms");  // none pinned
    o.algorithms = {"none"};
    refused(o, "'none' is not supported");
    o.algorithms = {"PS256"};
    refused(o, "'PS256' is not supported");
    o.algorithms = {"HS256"};
    refused(o, "HS256 cannot be verified with the key of key_file");
    o.algorithms = {"ES384"};
    o.key_file = ec.path();
    refused(o, "ES384 cannot be verified");
    o.algorithms = {"RS256"};
    o.key_file = garbage.path();
    refused(o, "not a PEM");
    o.key_file = small.path();
    refused(o, "at least 2048");
    o.key_file = "/nonexistent/key.pem";
    refused(o, "cannot read /nonexistent/key.pem");
    o.key_file = rsa.path();
    o.secret = "s";
    refused(o, "exactly one of");
    Options hs;
    hs.algorithms = {"RS256"};
    hs.secret = "do-not-echo-me";
    std::string error;
    CHECK_FALSE(Verifier::create(hs, error));
    CHECK(error.find("do-not-echo-me") == std::string::npos);
}

TEST_CASE("a token verified once is remembered, and its claims are still checked on every use",
          "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    auto v = verifier_for(rs256_options(pem.path()));
    std::string token = rs256(good_claims());
    CHECK(v->verify(token, kNow).ok());
    CHECK(v->remembered_tokens() == 1);
    Verdict again = v->verify(token, kNow);
    CHECK(again.ok());
    CHECK(again.claims.at("sub") == "u1");
    CHECK(v->remembered_tokens() == 1);
    // Remembered, but its exp has come: refused like any expired token.
    CHECK(v->verify(token, kNow + 600).outcome == Outcome::Expired);
    // A refused token is never remembered: a client sending forgeries cannot fill the cache.
    CHECK(v->verify(rs256(good_claims(), jwt_test::other_rsa_key()), kNow).outcome ==
          Outcome::BadSignature);
    json wrong_iss = good_claims();
    wrong_iss["iss"] = "https://evil.example.com";
    CHECK(v->verify(rs256(wrong_iss), kNow).outcome == Outcome::WrongIssuer);
    CHECK(v->remembered_tokens() == 2);  // its signature verified; its issuer is checked each time
    CHECK(v->verify(rs256(wrong_iss), kNow).outcome == Outcome::WrongIssuer);
}

TEST_CASE("a token remembered by one verifier is checked again by another (a reload's keys)",
          "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    jwt_test::TempFile other(jwt_test::public_pem(jwt_test::other_rsa_key().get()));
    std::string token = rs256(good_claims());
    CHECK(verifier_for(rs256_options(pem.path()))->verify(token, kNow).ok());
    CHECK(verifier_for(rs256_options(other.path()))->verify(token, kNow).outcome == Outcome::BadSignature);
}

TEST_CASE("the verified-token cache is bounded, least recently used first out; 0 keeps none",
          "[plugins][jwt]") {
    VerifiedTokenCache cache(2);
    cache.insert("a");
    cache.insert("b");
    CHECK(cache.contains("a"));  // a is now the most recently used
    cache.insert("c");           // b goes
    CHECK(cache.size() == 2);
    CHECK(cache.contains("a"));
    CHECK(cache.contains("c"));
    CHECK_FALSE(cache.contains("b"));
    VerifiedTokenCache off(0);
    off.insert("a");
    CHECK_FALSE(off.contains("a"));
    CHECK(off.size() == 0);
}
