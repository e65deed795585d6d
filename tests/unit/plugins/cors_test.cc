// cors: option checks with file:line:col, preflight answers, headers on answers, and
// origins that are not allowed.
#include <catch2/catch.hpp>

#include "gateway/config/config.h"
#include "plugins/cors/cors.h"
#include "plugins/registry.h"
#include "tests/unit/support/fake_request.h"

using namespace sluice;
using sluice::testing::FakeRequest;

namespace {

using Lines = std::vector<std::string>;

// Route item at line 2, its plugin at line 5.
std::string config_with(const std::string& cors_options) {
    return "broker: {type: redis}\nroutes:\n  - path: /a\n    sse: {channel: a}\n    plugins:\n"
           "      - cors: " + cors_options + "\n";
}

Lines errors_of(const std::string& yaml) {
    config::LoadResult r = config::load_config_string(yaml, "t.yaml", &plugins::builtin_registry());
    Lines out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    return out;
}

std::shared_ptr<pipeline::Filter> filter_for(const std::string& cors_options) {
    config::LoadResult r =
        config::load_config_string(config_with(cors_options), "t.yaml", &plugins::builtin_registry());
    for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
    REQUIRE(r.errors.empty());
    pipeline::FilterChain chain;
    std::string error;
    REQUIRE(plugins::builtin_registry().build_chain(r.config->routes[0].plugins, {"/a", false}, chain, error));
    REQUIRE(chain.filters().size() == 1);
    return chain.filters()[0];
}

FakeRequest request(const std::string& method, pipeline::Headers headers) {
    FakeRequest req;
    req.request.method = method;
    req.request.path = "/a";
    for (auto& [n, v] : headers) req.request.headers.push_back({n, v});
    return req;
}

const std::string* find(const pipeline::Headers& h, std::string_view name) {
    for (const auto& [n, v] : h)
        if (n == name) return &v;
    return nullptr;
}

}  // namespace

TEST_CASE("cors: bad options are errors at their value", "[plugins][cors]") {
    CHECK(errors_of(config_with("{}")) ==
          Lines{"t.yaml:6:15: missing required key 'origins' in routes[0].plugins[0].cors"});
    CHECK(errors_of(config_with("{origins: [app.example.com]}")) ==
          Lines{"t.yaml:6:25: routes[0].plugins[0].cors.origins: 'app.example.com' is not an origin "
                "(scheme://host[:port], no path), or \"*\""});
    CHECK(errors_of(config_with("{origins: ['https://a.example/path']}")) ==
          Lines{"t.yaml:6:25: routes[0].plugins[0].cors.origins: 'https://a.example/path' is not an "
                "origin (scheme://host[:port], no path), or \"*\""});
    CHECK(errors_of(config_with("{origins: ['*', 'https://a.example']}")) ==
          Lines{"t.yaml:6:25: routes[0].plugins[0].cors.origins: \"*\" allows every origin; list it alone"});
    CHECK(errors_of(config_with("{origins: []}")) ==
          Lines{"t.yaml:6:25: routes[0].plugins[0].cors.origins: list at least one origin, or \"*\""});
    CHECK(errors_of(config_with("{origins: ['*'], max_age: 10}")) ==
          Lines{"t.yaml:6:41: routes[0].plugins[0].cors.max_age: expected a duration like 30s "
                "(units ms, s, m, h), got '10'"});
    CHECK(errors_of(config_with("{origins: ['*'], credentials: yes}")) ==
          Lines{"t.yaml:6:45: routes[0].plugins[0].cors.credentials: expected true or false, got 'yes'"});
    CHECK(errors_of(config_with("{origins: ['*'], headers: ['Bad Header']}")) ==
          Lines{"t.yaml:6:41: routes[0].plugins[0].cors.headers: 'Bad Header' is not a header name"});
    CHECK(errors_of(config_with("{origins: ['*'], orgins: []}")).size() == 1);
}

TEST_CASE("cors: a preflight from an allowed origin is answered 204", "[plugins][cors]") {
    auto f = filter_for("{origins: ['https://app.example'], credentials: true, max_age: 10m}");
    FakeRequest req = request("OPTIONS", {{"Origin", "https://app.example"},
                                          {"Access-Control-Request-Method", "GET"},
                                          {"Access-Control-Request-Headers", "last-event-id"}});
    CHECK(f->on_request_head(req, {}) == pipeline::HeadVerdict::Answered);
    CHECK(req.status == 204);
    CHECK(req.sent.empty());
    REQUIRE(find(req.headers, "Access-Control-Allow-Methods"));
    // The route's methods by default (an sse route serves GET and HEAD).
    CHECK(*find(req.headers, "Access-Control-Allow-Methods") == "GET, HEAD");
    CHECK(*find(req.headers, "Access-Control-Allow-Headers") == "Authorization, Last-Event-ID");
    CHECK(*find(req.headers, "Access-Control-Max-Age") == "600");
    // The origin, credentials and Vary come from the response-head hook (the carrier
    // runs it on every answer, this one included).
    pipeline::ResponseHead head;
    f->on_response_head(req, head);
    CHECK(*find(head.headers, "Access-Control-Allow-Origin") == "https://app.example");
    CHECK(*find(head.headers, "Access-Control-Allow-Credentials") == "true");
    CHECK(*find(head.headers, "Vary") == "Origin");
}

TEST_CASE("cors: methods and headers given replace the defaults", "[plugins][cors]") {
    auto f = filter_for("{origins: ['*'], methods: [GET, POST], headers: [X-Token]}");
    FakeRequest req = request("OPTIONS", {{"Origin", "https://any.example"},
                                          {"Access-Control-Request-Method", "POST"}});
    CHECK(f->on_request_head(req, {}) == pipeline::HeadVerdict::Answered);
    CHECK(*find(req.headers, "Access-Control-Allow-Methods") == "GET, POST");
    CHECK(*find(req.headers, "Access-Control-Allow-Headers") == "X-Token");
    CHECK_FALSE(find(req.headers, "Access-Control-Max-Age"));
    pipeline::ResponseHead head;
    f->on_response_head(req, head);
    // Any origin, no credentials: "*", and the answer does not vary by origin.
    CHECK(*find(head.headers, "Access-Control-Allow-Origin") == "*");
    CHECK_FALSE(find(head.headers, "Vary"));
    CHECK_FALSE(find(head.headers, "Access-Control-Allow-Credentials"));
}

TEST_CASE("cors: \"*\" with credentials echoes the origin", "[plugins][cors]") {
    auto f = filter_for("{origins: ['*'], credentials: true, expose_headers: [X-Request-Id]}");
    FakeRequest req = request("GET", {{"Origin", "https://any.example"}});
    CHECK(f->on_request_head(req, {}) == pipeline::HeadVerdict::Pass);
    pipeline::ResponseHead head;
    f->on_response_head(req, head);
    CHECK(*find(head.headers, "Access-Control-Allow-Origin") == "https://any.example");
    CHECK(*find(head.headers, "Access-Control-Expose-Headers") == "X-Request-Id");
    CHECK(*find(head.headers, "Vary") == "Origin");
}

TEST_CASE("cors: an origin not allowed gets no CORS headers, preflight or not", "[plugins][cors]") {
    auto f = filter_for("{origins: ['https://app.example']}");
    FakeRequest pre = request("OPTIONS", {{"Origin", "https://evil.example"},
                                          {"Access-Control-Request-Method", "GET"}});
    // Passed on: the route answers it as without cors (an sse route: 405).
    CHECK(f->on_request_head(pre, {}) == pipeline::HeadVerdict::Pass);
    CHECK(pre.status == 0);
    FakeRequest get = request("GET", {{"Origin", "https://evil.example"}});
    pipeline::ResponseHead head;
    f->on_response_head(get, head);
    CHECK(head.headers == pipeline::Headers{{"Vary", "Origin"}});
    // Origins compare exactly: no suffix or case games.
    FakeRequest near = request("GET", {{"Origin", "https://app.example.evil"}});
    pipeline::ResponseHead head2;
    f->on_response_head(near, head2);
    CHECK_FALSE(find(head2.headers, "Access-Control-Allow-Origin"));
}

TEST_CASE("cors: OPTIONS that is not a preflight passes", "[plugins][cors]") {
    auto f = filter_for("{origins: ['*']}");
    FakeRequest no_origin = request("OPTIONS", {{"Access-Control-Request-Method", "GET"}});
    CHECK(f->on_request_head(no_origin, {}) == pipeline::HeadVerdict::Pass);
    FakeRequest no_method = request("OPTIONS", {{"Origin", "https://a.example"}});
    CHECK(f->on_request_head(no_method, {}) == pipeline::HeadVerdict::Pass);
    // A request without Origin gets no CORS headers.
    FakeRequest plain = request("GET", {});
    pipeline::ResponseHead head;
    f->on_response_head(plain, head);
    CHECK(head.headers.empty());
}

TEST_CASE("cors: on publish the preflight allows POST", "[plugins][cors]") {
    config::LoadResult r = config::load_config_string(
        "broker: {type: memory}\npublish:\n  token: t\n  plugins: [{cors: {origins: ['*']}}]\n", "t.yaml",
        &plugins::builtin_registry());
    REQUIRE(r.errors.empty());
    pipeline::FilterChain chain;
    std::string error;
    REQUIRE(plugins::builtin_registry().build_chain(r.config->publish->plugins, {"/p", true}, chain, error));
    FakeRequest req = request("OPTIONS", {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "POST"}});
    CHECK(chain.filters()[0]->on_request_head(req, {}) == pipeline::HeadVerdict::Answered);
    CHECK(*find(req.headers, "Access-Control-Allow-Methods") == "POST");
}
