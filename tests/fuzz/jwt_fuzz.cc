// Fuzz target: what the jwt plugin reads from a request before any key is trusted: the
// token itself (split, base64url, JSON header and payload, pinned alg, kid lookup, then
// libjwt), the Cookie header, the Authorization header, and the token sources of the
// config.
//
// Checked:
//  - no input verifies: the verifiers hold an HMAC secret, an RSA key and a JWKS that the
//    input cannot sign for, so Ok would mean a forged token got through; a refused token
//    hands out no claims; only the empty token is "missing".
//  - base64url: a decoded text re-encodes to itself (one text per byte string), and any
//    bytes encode to a text that decodes back to them.
//  - cookie_value returns a part of the header, without ';', and only when "name=" is
//    in the header; bearer_token returns a non-empty suffix without outer whitespace.
//  - a parsed token source is one of the three spellings.
// Input byte 0 picks the part; the rest is the text (cookie: the name up to the first
// '\n', then the header).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "plugins/jwt/base64url.h"
#include "plugins/jwt/token_sources.h"
#include "plugins/jwt/verifier.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::plugins::jwt;

constexpr int64_t kNow = 1'800'000'000;

std::string rsa_public_pem() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    FUZZ_CHECK(key != nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    FUZZ_CHECK(PEM_write_bio_PUBKEY(bio, key) == 1);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(len));
    BIO_free(bio);
    EVP_PKEY_free(key);
    return pem;
}

struct Verifiers {
    Verifier hmac;
    Verifier rsa;
    Verifier jwks;
};

const Verifiers& verifiers() {
    static const Verifiers v = [] {
        std::string error;
        Options hs;
        hs.algorithms = {"HS256", "HS384", "HS512"};
        Options rs;
        rs.algorithms = {"RS256", "ES256"};
        rs.issuer = "iss";
        rs.audience = "aud";
        rs.leeway = std::chrono::seconds(30);
        auto rsa_key = key_from_pem(rsa_public_pem(), error);
        FUZZ_CHECK(rsa_key.has_value());
        KeySet set;
        set.by_kid["k1"] = *rsa_key;
        set.by_kid["h1"] = Key{KeyKind::Hmac, "jwks secret", {}};
        Options both;
        both.algorithms = {"RS256", "HS256"};
        return Verifiers{Verifier(hs, Key{KeyKind::Hmac, "fuzz secret", {}}, {}),
                         Verifier(rs, *rsa_key, {}), Verifier(both, std::nullopt, set)};
    }();
    return v;
}

void check_verify(std::string_view token) {
    for (const Verifier* v : {&verifiers().hmac, &verifiers().rsa, &verifiers().jwks}) {
        Verdict r = v->verify(token, kNow);
        FUZZ_CHECK(!r.ok());
        FUZZ_CHECK(r.claims.is_null());
        FUZZ_CHECK((r.outcome == Outcome::Missing) == token.empty());
        FUZZ_CHECK(outcome_status(r.outcome) == 401);
        FUZZ_CHECK(!v->allows_channel(r, "c") || v->options().channels_claim.empty());
    }
}

void check_base64url(std::string_view text) {
    if (auto bytes = base64url_decode(text)) FUZZ_CHECK(base64url_encode(*bytes) == text);
    FUZZ_CHECK(base64url_decode(base64url_encode(text)) == std::string(text));
}

bool inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_cookie(std::string_view input) {
    auto nl = input.find('\n');
    if (nl == std::string_view::npos) return;
    std::string_view name = input.substr(0, nl);
    std::string_view header = input.substr(nl + 1);
    auto value = cookie_value(header, name);
    if (!value) return;
    FUZZ_CHECK(value->empty() || inside(*value, header));
    FUZZ_CHECK(value->find(';') == std::string_view::npos);
    FUZZ_CHECK(header.find(std::string(name) + "=") != std::string_view::npos ||
               header.find(std::string(name) + " ") != std::string_view::npos ||
               header.find(std::string(name) + "\t") != std::string_view::npos);
}

void check_bearer(std::string_view header) {
    auto token = bearer_token(header);
    if (!token) return;
    FUZZ_CHECK(!token->empty() && inside(*token, header));
    FUZZ_CHECK(token->front() != ' ' && token->front() != '\t');
    FUZZ_CHECK(token->back() != ' ' && token->back() != '\t');
}

void check_source(std::string_view text) {
    std::string error;
    auto src = parse_token_source(text, error);
    FUZZ_CHECK(src.has_value() == error.empty());
    if (!src) return;
    std::string spelled = src->kind == TokenSource::Kind::Bearer  ? "header"
                          : src->kind == TokenSource::Kind::Cookie ? "cookie:" + src->name
                                                                   : "query:" + src->name;
    FUZZ_CHECK(spelled == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 5) {
        case 0: check_verify(rest); break;
        case 1: check_base64url(rest); break;
        case 2: check_cookie(rest); break;
        case 3: check_bearer(rest); break;
        case 4: check_source(rest); break;
    }
    return 0;
}
