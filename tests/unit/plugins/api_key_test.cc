// The api_key plugin: key lines and keys files (comments, channels, duplicates, errors
// that never show a key), the lookup that compares every key's digest, the filter on its
// routes (401 missing or unknown, 403 outside the key's channels, header and query
// sources), option errors at file:line:col, and the query parameter redacted in the log.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "gateway/admin/plugin_decisions.h"
#include "gateway/app/access_log.h"
#include "gateway/app/runtime.h"
#include "gateway/config/config.h"
#include "plugins/api_key/api_key.h"
#include "plugins/api_key/keys.h"
#include "plugins/registry.h"
#include "tests/unit/plugins/jwt_test_tokens.h"
#include "tests/unit/support/fake_request.h"

using namespace sluice;
using namespace sluice::plugins::api_key;
using sluice::testing::FakeRequest;
using jwt_test::TempFile;

namespace {

using Lines = std::vector<std::string>;

Lines errors_of(const std::string& yaml) {
    config::LoadResult r = config::load_config_string(yaml, "t.yaml", &plugins::builtin_registry());
    Lines out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    return out;
}

// Route 0: sse on c:{id}; route 1: a proxy route; both with the same api_key options.
std::string config_with(const std::string& options) {
    return "broker: {type: redis}\n"
           "upstreams: {app: {servers: [127.0.0.1:9]}}\n"
           "routes:\n"
           "  - path: /s/{id}\n"
           "    sse: {channel: \"c:{id}\"}\n"
           "    plugins:\n"
           "      - api_key: " + options + "\n"
           "  - prefix: /api/\n"
           "    proxy: {upstream: app}\n"
           "    plugins: [api_key: " + options + "]\n";
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

bool run(const pipeline::FilterChain& chain, FakeRequest& req) {
    bool reached = false;
    chain.run(req, [&] { reached = true; });
    return reached;
}

}  // namespace

TEST_CASE("api_key: a key line is a key and optional channels", "[plugins][api_key]") {
    std::string error;
    auto plain = parse_key_line("  k-123  ", error);
    REQUIRE(plain);
    CHECK(plain->digest == sha256("k-123"));
    CHECK(plain->channels.empty());
    CHECK(plain->allows("anything"));

    auto limited = parse_key_line("k-9 jobs:*, reports:daily", error);
    REQUIRE(limited);
    CHECK(limited->channels == std::vector<std::string>{"jobs:*", "reports:daily"});
    CHECK(limited->allows("jobs:1"));
    CHECK(limited->allows("reports:daily"));
    CHECK_FALSE(limited->allows("reports:weekly"));
    CHECK_FALSE(limited->allows("job"));

    CHECK_FALSE(parse_key_line("k-9 jobs/1", error));
    CHECK(error == "channel 'jobs/1' is not a channel name or a prefix ending in '*' ([A-Za-z0-9_.:-])");
    CHECK_FALSE(parse_key_line("k-9 a,,b", error));
    CHECK_FALSE(parse_key_line("", error));
    CHECK(error == "empty key");
    CHECK_FALSE(parse_key_line("s\xc3\xa9" "cret", error));
    CHECK(error == "a key must be visible ASCII characters only");
    CHECK(error.find("cret") == std::string::npos);  // the key is never in a message
}

TEST_CASE("api_key: keys files", "[plugins][api_key]") {
    std::string error;
    TempFile good("# keys of the reporting jobs\n\nk-one\r\n  k-two  jobs:*,c:1\n# k-three\n");
    auto keys = read_keys_file(good.path(), error);
    REQUIRE(keys);
    REQUIRE(keys->size() == 2);
    CHECK((*keys)[0].digest == sha256("k-one"));
    CHECK((*keys)[1].channels == std::vector<std::string>{"jobs:*", "c:1"});

    TempFile duplicate("k-one\nk-two\nk-one c:*\n");
    CHECK_FALSE(read_keys_file(duplicate.path(), error));
    CHECK(error == duplicate.path() + " line 3: the same key as line 1");

    TempFile bad("k-one\nk-two bad/channel\n");
    CHECK_FALSE(read_keys_file(bad.path(), error));
    CHECK(error.rfind(bad.path() + " line 2: channel 'bad/channel'", 0) == 0);

    TempFile empty("# nothing yet\n\n");
    CHECK_FALSE(read_keys_file(empty.path(), error));
    CHECK(error == empty.path() + " holds no key");

    CHECK_FALSE(read_keys_file("/nonexistent/sluice-keys", error));
    CHECK(error == "cannot read /nonexistent/sluice-keys: No such file or directory");
}

TEST_CASE("api_key: the lookup compares digests of every key", "[plugins][api_key]") {
    std::string error;
    std::vector<Key> keys;
    for (const char* line : {"short", "a-much-longer-key-0123456789", "k-3 c:*"}) keys.push_back(*parse_key_line(line, error));
    CHECK(find_key(keys, "short") == &keys[0]);
    CHECK(find_key(keys, "a-much-longer-key-0123456789") == &keys[1]);
    CHECK(find_key(keys, "k-3") == &keys[2]);
    // A prefix, an extension, one byte off, nothing: no key. Lengths never matter: what is
    // compared (CRYPTO_memcmp) is always 32 bytes of SHA-256.
    for (const char* wrong : {"shor", "shortt", "a-much-longer-key-012345678X", "", "k-3 c:*"})
        CHECK(find_key(keys, wrong) == nullptr);
    CHECK(find_key({}, "short") == nullptr);
}

TEST_CASE("api_key: 401 without or with an unknown key, 403 outside the key's channels", "[plugins][api_key]") {
    TempFile file("k-all\nk-jobs c:jobs*\n");
    auto rt = runtime_for(config_with("{keys_file: " + file.path() + "}"));
    const pipeline::FilterChain& sse = rt->route_filters[0];

    FakeRequest none = get("/s/1");
    CHECK_FALSE(run(sse, none));
    CHECK(none.status == 401);
    CHECK(*none.header("WWW-Authenticate") == "ApiKey realm=\"sluice\"");

    FakeRequest wrong = get("/s/1", {{"X-API-Key", "k-nope"}});
    CHECK_FALSE(run(sse, wrong));
    CHECK(wrong.status == 401);
    CHECK(*wrong.header("WWW-Authenticate") == "ApiKey realm=\"sluice\", error=\"invalid_key\"");
    CHECK(wrong.sent.find("k-nope") == std::string::npos);

    FakeRequest outside = get("/s/1", {{"x-api-key", "k-jobs"}});
    CHECK_FALSE(run(sse, outside));
    CHECK(outside.status == 403);

    FakeRequest inside = get("/s/jobs7", {{"X-API-Key", "k-jobs"}});
    CHECK(run(sse, inside));
    FakeRequest all = get("/s/1", {{"X-API-Key", "k-all"}});
    CHECK(run(sse, all));

    // A proxy route has no channel: a key limited to channels still opens it.
    FakeRequest proxied = get("/api/x", {{"X-API-Key", "k-jobs"}});
    CHECK(run(rt->route_filters[1], proxied));
}

TEST_CASE("api_key: keys from the config (and the environment), from a query parameter", "[plugins][api_key]") {
    setenv("SLUICE_TEST_API_KEY", "k-from-env", 1);
    auto rt = runtime_for(config_with("{keys: [\"${SLUICE_TEST_API_KEY}\", \"k-lit c:2\"], "
                                      "from: [header:X-Key, query:key_q9]}"));
    unsetenv("SLUICE_TEST_API_KEY");
    const pipeline::FilterChain& sse = rt->route_filters[0];
    FakeRequest header = get("/s/1", {{"X-Key", "k-from-env"}});
    CHECK(run(sse, header));
    FakeRequest query = get("/s/2", {}, "key_q9=k-lit");
    CHECK(run(sse, query));
    FakeRequest escaped = get("/s/1", {}, "key_q9=k%2Dfrom%2Denv");
    CHECK(run(sse, escaped));
    // X-API-Key is not a source any more.
    FakeRequest default_header = get("/s/1", {{"X-API-Key", "k-from-env"}});
    CHECK_FALSE(run(sse, default_header));
    CHECK(default_header.status == 401);
    // The configured query parameter never reaches the access log.
    CHECK(app::access_log::redact_query("key_q9=k-lit&x=1") == "key_q9=REDACTED&x=1");
}

TEST_CASE("api_key: the decisions are counted per route", "[plugins][api_key]") {
    auto rt = runtime_for(config_with("{keys: [k1 c:1]}"));
    auto count = [](const std::string& decision) {
        for (const auto& s : admin::plugin_decisions().snapshot())
            if (s.plugin == "api_key" && s.route == "/s/{id}" && s.decision == decision) return s.count;
        return uint64_t{0};
    };
    uint64_t allow = count("allow"), unauthenticated = count("unauthenticated"), forbidden = count("forbidden");
    FakeRequest a = get("/s/1", {{"X-API-Key", "k1"}});
    FakeRequest b = get("/s/1");
    FakeRequest c = get("/s/1", {{"X-API-Key", "k2"}});
    FakeRequest d = get("/s/2", {{"X-API-Key", "k1"}});
    for (FakeRequest* r : {&a, &b, &c, &d}) run(rt->route_filters[0], *r);
    CHECK(count("allow") == allow + 1);
    CHECK(count("unauthenticated") == unauthenticated + 2);
    CHECK(count("forbidden") == forbidden + 1);
}

TEST_CASE("api_key: option errors at their file:line:col", "[plugins][api_key]") {
    CHECK(errors_of(config_with("{}")) ==
          Lines{"t.yaml:7:18: routes[0].plugins[0].api_key: give keys, keys_file or both",
                "t.yaml:10:24: routes[1].plugins[0].api_key: give keys, keys_file or both"});
    CHECK(errors_of(config_with("{keys_file: /nonexistent/k}")) ==
          Lines{"t.yaml:7:30: routes[0].plugins[0].api_key.keys_file: cannot read /nonexistent/k: "
                "No such file or directory",
                "t.yaml:10:36: routes[1].plugins[0].api_key.keys_file: cannot read /nonexistent/k: "
                "No such file or directory"});
    TempFile bad("k1\nk2 not/a/channel\n");
    Lines errs = errors_of(config_with("{keys_file: " + bad.path() + "}"));
    REQUIRE(errs.size() == 2);
    CHECK(errs[0].rfind("t.yaml:7:30: routes[0].plugins[0].api_key.keys_file: " + bad.path() + " line 2: ", 0) == 0);
    CHECK(errors_of(config_with("{keys: []}"))[0] == "t.yaml:7:25: routes[0].plugins[0].api_key.keys: list at least one key");
    CHECK(errors_of(config_with("{keys: [\"s3cret bad/ch\"]}"))[0] ==
          "t.yaml:7:26: routes[0].plugins[0].api_key.keys[0]: channel 'bad/ch' is not a channel name or a "
          "prefix ending in '*' ([A-Za-z0-9_.:-])");
    CHECK(errors_of(config_with("{keys: [k], from: [cookie:k]}"))[0] ==
          "t.yaml:7:37: routes[0].plugins[0].api_key.from: 'cookie:k' is not a key source "
          "(header:<name> or query:<name>)");
    CHECK(errors_of(config_with("{keys: [k], from: [\"header:X Key\"]}"))[0] ==
          "t.yaml:7:37: routes[0].plugins[0].api_key.from: 'X Key' is not a header name");
    CHECK(errors_of(config_with("{keys: [k], extra: 1}"))[0].find("unknown key 'extra'") != std::string::npos);
}
