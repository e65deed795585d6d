// The jwt plugin's options read from YAML: a valid map builds a verifier; each bad key is
// reported at its own line with what is wrong.
#include "plugins/jwt/config_reader.h"

#include <catch2/catch.hpp>

#include "tests/unit/plugins/jwt_test_tokens.h"

using namespace sluice::plugins::jwt;
using sluice::config::ConfigError;

namespace {

struct Read {
    std::shared_ptr<const Verifier> verifier;
    std::vector<ConfigError> errors;
};

Read read(const std::string& yaml) {
    YAML::Node root = YAML::Load(yaml);
    sluice::config::Diagnostics diag("test.yaml");
    sluice::config::MapReader r(sluice::config::Value::of(root, "routes[0].plugins[0].jwt"), diag);
    Read out;
    out.verifier = read_jwt_config(r);
    r.finish();
    out.errors = diag.take();
    return out;
}

void refused(const std::string& yaml, int line, const std::string& expect) {
    Read got = read(yaml);
    CHECK_FALSE(got.verifier);
    REQUIRE_FALSE(got.errors.empty());
    INFO(got.errors[0].to_string());
    CHECK(got.errors[0].line == line);
    CHECK(got.errors[0].message.find(expect) != std::string::npos);
}

}  // namespace

TEST_CASE("jwt options read from YAML build a verifier", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    Read got = read("algorithms: [RS256]\n"
                    "key_file: " + pem.path() + "\n"
                    "from: [header, cookie:session, query:access_token]\n"
                    "issuer: https://auth.example.com\n"
                    "audience: sluice\n"
                    "leeway: 30s\n"
                    "channels_claim: channels\n"
                    "close_on_expiry: true\n"
                    "cache_size: 50\n");
    INFO((got.errors.empty() ? "" : got.errors[0].to_string()));
    REQUIRE(got.verifier);
    const Options& o = got.verifier->options();
    CHECK(o.algorithms == std::vector<std::string>{"RS256"});
    CHECK(o.from.size() == 3);
    CHECK(o.from[1] == TokenSource{TokenSource::Kind::Cookie, "session"});
    CHECK(o.leeway == std::chrono::seconds(30));
    CHECK(o.channels_claim == "channels");
    CHECK(o.close_on_expiry);
    CHECK(o.issuer == "https://auth.example.com");
    CHECK(o.cache_size == 50);

    Read hs = read("algorithms: [HS256]\nsecret: s3cret\n");
    REQUIRE(hs.verifier);
    CHECK(hs.verifier->options().from == std::vector<TokenSource>{TokenSource{TokenSource::Kind::Bearer, {}}});
    CHECK_FALSE(hs.verifier->options().close_on_expiry);
    CHECK(hs.verifier->options().cache_size == 10000);
}

TEST_CASE("bad jwt options are reported at their line", "[plugins][jwt]") {
    jwt_test::TempFile pem(jwt_test::public_pem(jwt_test::rsa_key().get()));
    std::string key = "key_file: " + pem.path() + "\n";
    refused(key, 1, "algorithms");
    refused("algorithms: []\n" + key, 1, "at least one");
    refused(key + "algorithms:\n  - RS256\n  - none\n", 4, "'none' is not supported");
    refused("algorithms: [HS256]\n" + key, 1, "HS256 cannot be verified with the key of key_file");
    refused("algorithms: [RS256]\n", 1, "exactly one of key_file, secret and jwks_file");
    refused("algorithms: [HS256]\nsecret: s\n" + key, 1, "exactly one of");
    refused("algorithms: [HS256]\nsecret: ''\n", 2, "secret");
    refused("algorithms: [RS256]\nkey_file: /nonexistent.pem\n", 2, "cannot read /nonexistent.pem");
    refused("algorithms: [RS256]\njwks_file: " + pem.path() + "\n", 2, "not a JSON Web Key Set");
    refused("algorithms: [RS256]\n" + key + "from: [header, body]\n", 3, "unknown token source 'body'");
    refused("algorithms: [RS256]\n" + key + "from: ['cookie:']\n", 3, "needs a name");
    refused("algorithms: [RS256]\n" + key + "leeway: 30\n", 3, "leeway");
    refused("algorithms: [RS256]\n" + key + "close_on_expiry: yes\n", 3, "close_on_expiry");
    refused("algorithms: [RS256]\n" + key + "cache_size: -1\n", 3, "cache_size");
    refused("algorithms: [RS256]\n" + key + "cache_size: lots\n", 3, "cache_size");
    // An unknown key is reported by the reader's finish(), like everywhere in the config.
    Read typo = read("algorithms: [RS256]\n" + key + "audiences: x\n");
    REQUIRE(typo.errors.size() == 1);
    CHECK(typo.errors[0].line == 3);
    CHECK(typo.errors[0].message.find("audiences") != std::string::npos);
}
