// The jwt plugin as a filter on its routes, built the way the server builds it (the
// runtime: the channel checked is the one the route's handler resolves): 401 without or
// with a bad token, 403 outside the channels claim, claims forwarded upstream in place of
// the client's copies, the stream's deadline at the token's expiry, the decisions counted,
// and publish.token made optional by an authenticating plugin.
#include <catch2/catch.hpp>

#include <chrono>

#include "gateway/admin/plugin_decisions.h"
#include "gateway/app/access_log.h"
#include "gateway/app/runtime.h"
#include "gateway/config/config.h"
#include "plugins/jwt/jwt.h"
#include "plugins/registry.h"
#include "tests/unit/plugins/jwt_test_tokens.h"
#include "tests/unit/support/fake_request.h"

using namespace sluice;
using sluice::testing::FakeRequest;
using Json = nlohmann::json;

namespace {

using Lines = std::vector<std::string>;
const std::string kSecret = "a-test-secret-of-32-bytes-or-more!!";

int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string make_token(Json claims, const std::string& secret = kSecret, const std::string& alg = "HS256") {
    return jwt_test::sign({{"alg", alg}, {"typ", "JWT"}}, claims, nullptr, secret);
}

// Route 0: an sse route on channel c:{id} with the jwt options; route 1: a proxy route.
std::string config_with(const std::string& jwt_options, const std::string& proxy_options = "{secret: s, algorithms: [HS256]}") {
    return "broker: {type: memory}\n"
           "upstreams: {app: {servers: [127.0.0.1:9]}}\n"
           "publish: {token: t}\n"
           "routes:\n"
           "  - path: /s/{id}\n"
           "    sse: {channel: \"c:{id}\"}\n"
           "    plugins:\n"
           "      - jwt: " + jwt_options + "\n"
           "  - prefix: /api/\n"
           "    proxy: {upstream: app}\n"
           "    plugins:\n"
           "      - jwt: " + proxy_options + "\n";
}

Lines errors_of(const std::string& yaml) {
    config::LoadResult r = config::load_config_string(yaml, "t.yaml", &plugins::builtin_registry());
    Lines out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    return out;
}

app::RuntimePtr runtime_for(const std::string& yaml) {
    config::LoadResult r = config::load_config_string(yaml, "t.yaml", &plugins::builtin_registry());
    for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
    REQUIRE(r.errors.empty());
    std::string error;
    app::RuntimePtr rt = app::build_runtime(r.config, 1, &error);
    INFO(error);
    REQUIRE(rt);
    return rt;
}

FakeRequest get(const std::string& path, std::vector<http::Header> headers = {}, std::string query = {}) {
    FakeRequest req;
    req.request.method = "GET";
    req.request.path = path;
    req.request.query = std::move(query);
    req.request.headers = std::move(headers);
    return req;
}

// Runs the chain; true when the handler was reached.
bool run(const pipeline::FilterChain& chain, FakeRequest& req) {
    bool reached = false;
    chain.run(req, [&] { reached = true; });
    return reached;
}

uint64_t decisions(const std::string& route, const std::string& decision) {
    for (const auto& s : admin::plugin_decisions().snapshot())
        if (s.plugin == "jwt" && s.route == route && s.decision == decision) return s.count;
    return 0;
}

const std::string kSse = "{secret: \"" + kSecret + "\", algorithms: [HS256], channels_claim: channels}";

}  // namespace

TEST_CASE("jwt plugin: no token is 401 with a bare Bearer challenge", "[plugins][jwt]") {
    auto rt = runtime_for(config_with(kSse));
    FakeRequest req = get("/s/1");
    CHECK_FALSE(run(rt->route_filters[0], req));
    CHECK(req.status == 401);
    CHECK(*req.header("WWW-Authenticate") == "Bearer realm=\"sluice\"");
    CHECK(req.sent.find("missing token") != std::string::npos);
}

TEST_CASE("jwt plugin: a bad signature, an expired token, a wrong alg are 401 invalid_token", "[plugins][jwt]") {
    auto rt = runtime_for(config_with(kSse));
    Json ok_claims = {{"exp", now_s() + 600}, {"channels", {"c:*"}}};
    struct Case {
        std::string token, reason;
    };
    std::vector<Case> cases = {
        {make_token(ok_claims, "another-secret-of-32-bytes-or-more!"), "bad signature"},
        {make_token({{"exp", now_s() - 60}, {"channels", {"c:*"}}}), "token expired"},
        {make_token(ok_claims, kSecret, "HS384"), "algorithm not allowed"},
        {"not.a.token", "malformed token"},
    };
    for (const Case& c : cases) {
        INFO(c.reason);
        FakeRequest req = get("/s/1", {{"Authorization", "Bearer " + c.token}});
        CHECK_FALSE(run(rt->route_filters[0], req));
        CHECK(req.status == 401);
        CHECK(*req.header("WWW-Authenticate") == "Bearer realm=\"sluice\", error=\"invalid_token\"");
        CHECK(req.sent.find(c.reason) != std::string::npos);
        CHECK(req.sent.find(c.token) == std::string::npos);
    }
}

TEST_CASE("jwt plugin: a channel outside the claim is 403; inside passes", "[plugins][jwt]") {
    auto rt = runtime_for(config_with(kSse));
    uint64_t allowed = decisions("/s/{id}", "allow");
    uint64_t forbidden = decisions("/s/{id}", "forbidden");
    std::string t = make_token({{"exp", now_s() + 600}, {"channels", {"c:1", "d:*"}}});

    FakeRequest other = get("/s/2", {{"Authorization", "Bearer " + t}});
    CHECK_FALSE(run(rt->route_filters[0], other));
    CHECK(other.status == 403);
    CHECK(*other.header("WWW-Authenticate") == "Bearer realm=\"sluice\", error=\"insufficient_scope\"");

    FakeRequest mine = get("/s/1", {{"Authorization", "Bearer " + t}});
    CHECK(run(rt->route_filters[0], mine));
    CHECK(mine.status == 0);

    // A path whose value cannot be a channel: the handler answers 400, not the plugin.
    FakeRequest bad = get("/s/a%20b", {{"Authorization", "Bearer " + t}});
    CHECK(run(rt->route_filters[0], bad));

    CHECK(decisions("/s/{id}", "allow") == allowed + 2);
    CHECK(decisions("/s/{id}", "forbidden") == forbidden + 1);
}

TEST_CASE("jwt plugin: the token from a cookie or a query parameter", "[plugins][jwt]") {
    auto rt = runtime_for(config_with("{secret: \"" + kSecret +
                                      "\", algorithms: [HS256], from: [cookie:session, query:access_token]}"));
    std::string t = make_token({{"exp", now_s() + 600}});
    FakeRequest cookie = get("/s/1", {{"Cookie", "a=b; session=" + t}});
    CHECK(run(rt->route_filters[0], cookie));
    FakeRequest query = get("/s/1", {}, "x=1&access_token=" + t);
    CHECK(run(rt->route_filters[0], query));
    // The Authorization header is not a source here.
    FakeRequest header = get("/s/1", {{"Authorization", "Bearer " + t}});
    CHECK_FALSE(run(rt->route_filters[0], header));
    CHECK(header.status == 401);
}

TEST_CASE("jwt plugin: claims are forwarded upstream, the client's copies removed", "[plugins][jwt]") {
    auto rt = runtime_for(config_with(kSse, "{secret: \"" + kSecret + "\", algorithms: [HS256], "
                                            "forward_claims: {sub: X-User-Id, org: X-Org, missing: X-None}}"));
    std::string t = make_token({{"exp", now_s() + 600}, {"sub", "user-7"}, {"org", 42}});
    FakeRequest req = get("/api/x", {{"Authorization", "Bearer " + t},
                                     {"x-user-id", "forged"},
                                     {"X-None", "forged too"},
                                     {"X-Other", "kept"}});
    CHECK(run(rt->route_filters[1], req));
    std::vector<http::Header> expected = {{"Authorization", "Bearer " + t},
                                          {"X-Other", "kept"},
                                          {"X-User-Id", "user-7"},
                                          {"X-Org", "42"}};
    REQUIRE(req.request.headers.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        CHECK(req.request.headers[i].name == expected[i].name);
        CHECK(req.request.headers[i].value == expected[i].value);
    }
}

TEST_CASE("jwt plugin: a claim that cannot be a header value is refused", "[plugins][jwt]") {
    auto rt = runtime_for(config_with(kSse, "{secret: \"" + kSecret + "\", algorithms: [HS256], "
                                            "forward_claims: {sub: X-User-Id}}"));
    std::string t = make_token({{"exp", now_s() + 600}, {"sub", "a\r\nX-Admin: 1"}});
    FakeRequest req = get("/api/x", {{"Authorization", "Bearer " + t}});
    CHECK_FALSE(run(rt->route_filters[1], req));
    CHECK(req.status == 401);
}

TEST_CASE("jwt plugin: close_on_expiry sets the request's deadline at exp plus leeway", "[plugins][jwt]") {
    config::LoadResult r = config::load_config_string(
        config_with("{secret: \"" + kSecret + "\", algorithms: [HS256], close_on_expiry: true, leeway: 5s}"),
        "t.yaml", &plugins::builtin_registry());
    REQUIRE(r.errors.empty());
    const auto* opts = static_cast<const plugins::jwt::PluginOptions*>(r.config->routes[0].plugins[0].options.get());
    int64_t wall_ms = 1'700'000'000'000;
    plugins::jwt::JwtFilter filter(*opts, {"/s/{id}", false}, [&] { return wall_ms; });
    std::string t = make_token({{"exp", wall_ms / 1000 + 30}});
    // The clock is fixed before the exp the token carries; the verifier gets the same now.
    FakeRequest req = get("/s/1", {{"Authorization", "Bearer " + t}});
    req.clock_ms = 5000;
    CHECK(filter.on_request_head(req, {}) == pipeline::HeadVerdict::Pass);
    REQUIRE(req.close_deadline_ms);
    CHECK(*req.close_deadline_ms == 5000 + 35'000);
    CHECK(req.close_at_reason == sse::CloseReason::Expired);

    // Without close_on_expiry, no deadline.
    auto rt = runtime_for(config_with(kSse));
    FakeRequest plain = get("/s/1", {{"Authorization", "Bearer " + make_token({{"exp", now_s() + 60}, {"channels", "c:1"}})}});
    CHECK(run(rt->route_filters[0], plain));
    CHECK_FALSE(plain.close_deadline_ms);
}

TEST_CASE("jwt plugin: option errors at their file:line:col", "[plugins][jwt]") {
    // forward_claims only on proxy routes (line 8 holds the sse route's jwt item).
    CHECK(errors_of(config_with("{secret: s, algorithms: [HS256], forward_claims: {sub: X-User-Id}}")) ==
          Lines{"t.yaml:8:63: routes[0].plugins[0].jwt.forward_claims: only proxy routes send "
                "requests upstream; use it there"});
    CHECK(errors_of(config_with(kSse, "{secret: s, algorithms: [HS256], forward_claims: {sub: \"X User\"}}")) ==
          Lines{"t.yaml:12:69: routes[1].plugins[0].jwt.forward_claims.sub: 'X User' is not a header name"});
    CHECK(errors_of(config_with(kSse, "{secret: s, algorithms: [HS256], forward_claims: {sub: Host}}")) ==
          Lines{"t.yaml:12:69: routes[1].plugins[0].jwt.forward_claims.sub: 'Host' cannot be set from a claim"});
    CHECK(errors_of(config_with(kSse, "{secret: s, algorithms: [HS256], forward_claims: {}}")) ==
          Lines{"t.yaml:12:63: routes[1].plugins[0].jwt.forward_claims: name at least one claim: header"});
}

TEST_CASE("jwt plugin: the query parameter it reads is redacted in the access log", "[plugins][jwt]") {
    auto rt = runtime_for(config_with("{secret: \"" + kSecret + "\", algorithms: [HS256], from: [query:jwt_tok_7]}"));
    CHECK(app::access_log::redact_query("a=1&jwt_tok_7=abc.def.ghi") == "a=1&jwt_tok_7=REDACTED");
}

namespace {

std::string publish_config(const std::string& publish) {
    return "broker: {type: memory}\nroutes:\n  - path: /s/{id}\n    sse: {channel: \"c:{id}\"}\n"
           "publish:\n" + publish;
}

}  // namespace

TEST_CASE("publish.token is optional when publish.plugins authenticates", "[plugins][jwt][config]") {
    CHECK(errors_of(publish_config("  plugins: [cors: {origins: [\"*\"]}]\n")) ==
          Lines{"t.yaml:6:3: missing required key 'token' in publish"});
    CHECK(errors_of(publish_config("  plugins: [jwt: {secret: s, algorithms: [HS256]}]\n")).empty());
    CHECK(errors_of(publish_config("  plugins: [api_key: {keys: [k1]}]\n")).empty());

    // The publish chain: no token filter, the jwt's channel claim covers the channel published to.
    auto rt = runtime_for(publish_config("  plugins: [jwt: {secret: \"" + kSecret +
                                         "\", algorithms: [HS256], channels_claim: ch}]\n"));
    REQUIRE(rt->publish_filters.filters().size() == 1);
    std::string t = make_token({{"exp", now_s() + 600}, {"ch", {"jobs:*"}}});
    FakeRequest in = get("/_sluice/publish/jobs:1", {{"Authorization", "Bearer " + t}});
    in.request.method = "POST";
    CHECK(run(rt->publish_filters, in));
    FakeRequest out = get("/_sluice/publish/other", {{"Authorization", "Bearer " + t}});
    out.request.method = "POST";
    CHECK_FALSE(run(rt->publish_filters, out));
    CHECK(out.status == 403);
    FakeRequest none = get("/_sluice/publish/jobs:1");
    none.request.method = "POST";
    CHECK_FALSE(run(rt->publish_filters, none));
    CHECK(none.status == 401);
}
