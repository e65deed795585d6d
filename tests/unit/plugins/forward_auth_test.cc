// The forward_auth plugin: the shared cache of verdicts and checks in flight (lead,
// joined, cached, expiry, LRU bound, failures never kept), the verdict read from the auth
// service's answer, the credential key and the check's head, option errors at
// file:line:col, and the filter off a worker loop (502, nothing sent).
#include <catch2/catch.hpp>

#include "gateway/app/runtime.h"
#include "gateway/config/config.h"
#include "plugins/forward_auth/check_cache.h"
#include "plugins/forward_auth/forward_auth.h"
#include "plugins/forward_auth/verdict.h"
#include "plugins/registry.h"
#include "tests/unit/support/fake_request.h"

using namespace sluice;
using namespace sluice::plugins::forward_auth;
using sluice::testing::FakeRequest;
using std::chrono::milliseconds;

namespace {

CheckCache::VerdictPtr verdict(Verdict::Kind kind, int status) {
    auto v = std::make_shared<Verdict>();
    v->kind = kind;
    v->status = status;
    return v;
}

// A waiter that records the verdicts it was given.
struct Seen {
    std::vector<CheckCache::VerdictPtr> got;
    CheckCache::Waiter waiter() {
        return [this](const CheckCache::VerdictPtr& v) { got.push_back(v); };
    }
};

std::vector<std::string> errors_of(const std::string& yaml) {
    config::LoadResult r = config::load_config_string(yaml, "t.yaml", &plugins::builtin_registry());
    std::vector<std::string> out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    return out;
}

std::string config_with(const std::string& options) {
    return "broker: {type: redis}\n"
           "upstreams: {auth: {servers: [127.0.0.1:9]}, app: {servers: [127.0.0.1:9]}}\n"
           "routes:\n"
           "  - prefix: /api/\n"
           "    proxy: {upstream: app}\n"
           "    plugins:\n"
           "      - forward_auth: " + options + "\n";
}

}  // namespace

TEST_CASE("forward_auth: concurrent checks of one credential share one", "[plugins][forward_auth]") {
    CheckCache cache(milliseconds(0), 10);
    Seen a, b, c, other;
    CHECK(cache.find_or_wait("k", 0, a.waiter()).role == CheckCache::Role::Lead);
    CHECK(cache.find_or_wait("k", 0, b.waiter()).role == CheckCache::Role::Joined);
    CHECK(cache.find_or_wait("k", 0, c.waiter()).role == CheckCache::Role::Joined);
    CHECK(cache.find_or_wait("k2", 0, other.waiter()).role == CheckCache::Role::Lead);
    CHECK(cache.in_flight() == 2);

    auto allow = verdict(Verdict::Kind::Allow, 200);
    cache.complete("k", allow, 5);
    for (Seen* s : {&a, &b, &c}) {
        REQUIRE(s->got.size() == 1);
        CHECK(s->got[0] == allow);
    }
    CHECK(other.got.empty());
    CHECK(cache.in_flight() == 1);
    // ttl 0: nothing kept, the next request checks again.
    Seen d;
    CHECK(cache.find_or_wait("k", 6, d.waiter()).role == CheckCache::Role::Lead);
    CHECK(cache.cached() == 0);
}

TEST_CASE("forward_auth: verdicts are cached for ttl, failures never", "[plugins][forward_auth]") {
    CheckCache cache(milliseconds(1000), 10);
    Seen lead;
    REQUIRE(cache.find_or_wait("k", 100, lead.waiter()).role == CheckCache::Role::Lead);
    auto deny = verdict(Verdict::Kind::Deny, 401);
    cache.complete("k", deny, 100);
    Seen late;
    CheckCache::Found f = cache.find_or_wait("k", 1099, late.waiter());
    CHECK(f.role == CheckCache::Role::Cached);
    CHECK(f.verdict == deny);
    CHECK(late.got.empty());  // a cached verdict is returned, the waiter is not kept
    CHECK(cache.in_flight() == 0);
    // Expired: checked again.
    CHECK(cache.find_or_wait("k", 1100, late.waiter()).role == CheckCache::Role::Lead);
    cache.complete("k", verdict(Verdict::Kind::Error, 502), 1100);
    CHECK(late.got.size() == 1);
    CHECK(cache.cached() == 0);  // the expired entry went, the failure was not stored
    Seen again;
    CHECK(cache.find_or_wait("k", 1101, again.waiter()).role == CheckCache::Role::Lead);
}

TEST_CASE("forward_auth: the cache keeps at most cache_size credentials, least recently used out",
          "[plugins][forward_auth]") {
    CheckCache cache(milliseconds(60000), 2);
    Seen s;
    for (std::string key : {"a", "b"}) {
        REQUIRE(cache.find_or_wait(key, 0, s.waiter()).role == CheckCache::Role::Lead);
        cache.complete(key, verdict(Verdict::Kind::Allow, 200), 0);
    }
    CHECK(cache.find_or_wait("a", 1, s.waiter()).role == CheckCache::Role::Cached);  // a used last
    REQUIRE(cache.find_or_wait("c", 2, s.waiter()).role == CheckCache::Role::Lead);
    cache.complete("c", verdict(Verdict::Kind::Allow, 200), 2);
    CHECK(cache.cached() == 2);
    CHECK(cache.find_or_wait("a", 3, s.waiter()).role == CheckCache::Role::Cached);
    CHECK(cache.find_or_wait("c", 3, s.waiter()).role == CheckCache::Role::Cached);
    CHECK(cache.find_or_wait("b", 3, s.waiter()).role == CheckCache::Role::Lead);  // evicted
}

TEST_CASE("forward_auth: the verdict of an answer", "[plugins][forward_auth]") {
    proxy::SubrequestAnswer ok;
    ok.status = 204;
    ok.headers = {{"x-user-id", "u1"}, {"X-Other", "no"}, {"X-Roles", "a"}, {"X-Roles", "b"}};
    Verdict v = verdict_of(ok, {"X-User-Id", "X-Roles", "X-Missing"});
    CHECK(v.kind == Verdict::Kind::Allow);
    CHECK(v.headers == pipeline::Headers{{"X-User-Id", "u1"}, {"X-Roles", "a"}, {"X-Roles", "b"}});
    CHECK(std::string(decision_name(v)) == "allow");

    proxy::SubrequestAnswer no;
    no.status = 401;
    no.headers = {{"WWW-Authenticate", "Bearer realm=\"x\""}, {"Content-Type", "text/plain"},
                  {"Set-Cookie", "a=b"}, {"X-User-Id", "u1"}};
    no.body = "log in first";
    v = verdict_of(no, {"X-User-Id"});
    CHECK(v.kind == Verdict::Kind::Deny);
    CHECK(v.status == 401);
    CHECK(v.headers == pipeline::Headers{{"WWW-Authenticate", "Bearer realm=\"x\""}});
    CHECK(v.has_body);
    CHECK(v.body == "log in first");
    CHECK(v.content_type == "text/plain");
    CHECK(std::string(decision_name(v)) == "unauthenticated");

    no.status = 403;
    no.body_cut = true;  // too long to pass back: sluice's own error body instead
    v = verdict_of(no, {});
    CHECK_FALSE(v.has_body);
    CHECK(std::string(decision_name(v)) == "forbidden");

    proxy::SubrequestAnswer redirect;
    redirect.status = 302;
    redirect.headers = {{"Location", "/login"}};
    v = verdict_of(redirect, {});
    CHECK(v.kind == Verdict::Kind::Deny);
    CHECK(v.headers == pipeline::Headers{{"Location", "/login"}});
    CHECK(std::string(decision_name(v)) == "denied");
    CHECK(v.cacheable());

    proxy::SubrequestAnswer failed;
    failed.failed = true;
    failed.status = 504;
    failed.reason = "upstream timed out";
    v = verdict_of(failed, {});
    CHECK(v.kind == Verdict::Kind::Error);
    CHECK(v.status == 504);
    CHECK(v.reason == "auth service: upstream timed out");
    CHECK_FALSE(v.cacheable());
    CHECK(std::string(decision_name(v)) == "error");
}

TEST_CASE("forward_auth: the credential key and the check's head", "[plugins][forward_auth]") {
    Options o;
    o.path = "/check?app=1";
    o.request_headers = {"X-Api-Key"};
    http::RequestHead req;
    req.method = "POST";
    req.target = "/api/x?y=2";
    req.headers = {{"Host", "gw.example"}, {"authorization", "Bearer t1"}, {"Cookie", "s=1"},
                   {"X-Secret", "not sent"}, {"x-api-key", "k"}, {"X-Forwarded-For", "10.0.0.1"}};
    http::RequestHead h = check_head(req, o);
    CHECK(h.method == "GET");
    CHECK(h.target == "/check?app=1");
    CHECK(h.path == "/check");
    CHECK(h.query == "app=1");
    std::vector<std::pair<std::string, std::string>> sent;
    for (const auto& hd : h.headers) sent.emplace_back(hd.name, hd.value);
    CHECK(sent == std::vector<std::pair<std::string, std::string>>{
                      {"Authorization", "Bearer t1"}, {"Cookie", "s=1"}, {"X-Api-Key", "k"},
                      {"X-Forwarded-Method", "POST"}, {"X-Forwarded-Uri", "/api/x?y=2"},
                      {"X-Forwarded-For", "10.0.0.1"}, {"Host", "gw.example"}});

    std::string key = credential_key(req, o);
    http::RequestHead same = req;
    same.target = "/elsewhere";  // the path is not part of the credential
    same.headers.push_back({"X-Secret", "other"});
    CHECK(credential_key(same, o) == key);
    http::RequestHead other_token = req;
    other_token.headers[1].value = "Bearer t2";
    CHECK(credential_key(other_token, o) != key);
    http::RequestHead other_key = req;
    other_key.headers[4].value = "k2";
    CHECK(credential_key(other_key, o) != key);
    // A value that looks like two headers is still one credential.
    http::RequestHead a, b;
    a.headers = {{"Authorization", "x;"}, {"Cookie", ""}};
    b.headers = {{"Authorization", "x"}, {"Cookie", ";"}};
    CHECK(credential_key(a, o) != credential_key(b, o));
    CHECK(credential_key(http::RequestHead{}, o) != credential_key(a, o));
}

TEST_CASE("forward_auth: option errors at file:line:col", "[plugins][forward_auth]") {
    CHECK(errors_of(config_with("{upstream: auth, path: /check, copy_headers: [X-User-Id], cache: 30s, "
                                "cache_size: 100, timeout: 2s, request_headers: [X-Api-Key]}"))
              .empty());
    CHECK(errors_of(config_with("{upstream: nope}")) ==
          std::vector<std::string>{"t.yaml:7:34: routes[0].plugins[0].forward_auth.upstream: no upstream "
                                   "named 'nope' in upstreams (known: app, auth)"});
    CHECK(errors_of(config_with("{path: /check}")) ==
          std::vector<std::string>{"t.yaml:7:23: missing required key 'upstream' in "
                                   "routes[0].plugins[0].forward_auth"});
    auto one = [](const std::string& options) {
        auto e = errors_of(config_with(options));
        return e.size() == 1 ? e[0] : "(" + std::to_string(e.size()) + " errors)";
    };
    CHECK_THAT(one("{upstream: auth, cache: soon}"),
               Catch::Contains("t.yaml:7:47: routes[0].plugins[0].forward_auth.cache: expected a duration"));
    CHECK_THAT(one("{upstream: auth, timeout: 0s}"),
               Catch::Contains("forward_auth.timeout: must be greater than 0"));
    CHECK_THAT(one("{upstream: auth, cache_size: 0}"),
               Catch::Contains("forward_auth.cache_size:"));
    CHECK(one("{upstream: auth, path: check}") ==
          "t.yaml:7:46: routes[0].plugins[0].forward_auth.path: must start with '/' and hold no "
          "spaces or controls");
    CHECK(one("{upstream: auth, copy_headers: [X-User-Id, \"bad name\"]}") ==
          "t.yaml:7:66: routes[0].plugins[0].forward_auth.copy_headers[1]: 'bad name' is not a header name");
    CHECK(one("{upstream: auth, request_headers: [Host]}") ==
          "t.yaml:7:58: routes[0].plugins[0].forward_auth.request_headers[0]: Host is set by sluice on "
          "every check");
    CHECK_THAT(one("{upstream: auth, cache_ttl: 1s}"), Catch::Contains("cache_ttl"));
    // Under publish.plugins it stands in for publish.token, and checks the upstream too.
    CHECK(errors_of("broker: {type: redis}\n"
                    "upstreams: {auth: {servers: [127.0.0.1:9]}}\n"
                    "publish: {plugins: [forward_auth: {upstream: auth}]}\n"
                    "routes:\n  - path: /s/{id}\n    sse: {channel: \"c:{id}\"}\n")
              .empty());
    CHECK(errors_of("broker: {type: redis}\n"
                    "publish: {plugins: [forward_auth: {upstream: auth}]}\n"
                    "routes:\n  - path: /s/{id}\n    sse: {channel: \"c:{id}\"}\n") ==
          std::vector<std::string>{"t.yaml:2:10: missing required key 'token' in publish",
                                   "t.yaml:2:46: publish.plugins[0].forward_auth.upstream: no upstream "
                                   "named 'auth' in upstreams (there are none)"});
}

TEST_CASE("forward_auth: off a worker loop the check cannot be sent: 502", "[plugins][forward_auth]") {
    config::LoadResult r = config::load_config_string(config_with("{upstream: auth}"), "t.yaml",
                                                      &plugins::builtin_registry());
    REQUIRE(r.errors.empty());
    std::string error;
    app::RuntimePtr rt = app::build_runtime(r.config, 1, &error);
    REQUIRE(rt);
    FakeRequest req;
    req.request.method = "GET";
    req.request.path = "/api/x";
    req.request.headers = {{"Authorization", "Bearer secret-token"}};
    bool reached = false;
    rt->route_filters[0].run(req, [&] { reached = true; });
    CHECK_FALSE(reached);
    CHECK(req.status == 502);
    CHECK(req.sent.find("secret-token") == std::string::npos);
}
