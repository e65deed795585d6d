// Upstream settings and proxy route options: every key is read, defaults apply, and each
// mistake is one file:line:col error at the offending value.
#include <catch2/catch.hpp>

#include "gateway/config/config.h"

using namespace sluice;
using namespace sluice::config;
using namespace std::chrono_literals;

namespace {

const std::string kHead = "broker: {type: redis}\n";  // one line: the rest starts at line 2

std::vector<std::string> errors_of(const std::string& yaml) {
    LoadResult r = load_config_string(yaml, "t.yaml");
    std::vector<std::string> out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    CHECK(bool(r.config) == out.empty());
    return out;
}

ConfigPtr load_ok(const std::string& yaml) {
    LoadResult r = load_config_string(yaml, "t.yaml");
    for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
    REQUIRE(r.errors.empty());
    return r.config;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("upstream defaults", "[config][proxy]") {
    auto c = load_ok(kHead + "upstreams:\n  app:\n    servers: [127.0.0.1:3000]\n");
    const proxy::UpstreamOptions& up = c->upstreams.at("app");
    CHECK(up.connect_timeout == 5s);
    CHECK(up.read_timeout == 60s);
    CHECK(up.idle_timeout == 60s);
    CHECK(up.max_idle == 32);
    CHECK(up.max_fails == 1);
    CHECK(up.fail_timeout == 10s);
    CHECK_FALSE(up.health_check);
}

TEST_CASE("every upstream key is read", "[config][proxy]") {
    auto c = load_ok(
        kHead + "upstreams:\n"
                "  app:\n"
                "    servers: [127.0.0.1:3000, \"[::1]:3001\", backend.internal:80]\n"
                "    connect_timeout: 250ms\n"
                "    read_timeout: 30s\n"
                "    idle_timeout: 5s\n"
                "    max_idle: 4\n"
                "    max_fails: 3\n"
                "    fail_timeout: 1m\n"
                "    health_check: {path: \"/healthz?full=1\", interval: 2s, timeout: 500ms}\n");
    const proxy::UpstreamOptions& up = c->upstreams.at("app");
    CHECK(up.servers ==
          std::vector<std::string>{"127.0.0.1:3000", "[::1]:3001", "backend.internal:80"});
    CHECK(up.connect_timeout == 250ms);
    CHECK(up.read_timeout == 30s);
    CHECK(up.idle_timeout == 5s);
    CHECK(up.max_idle == 4);
    CHECK(up.max_fails == 3);
    CHECK(up.fail_timeout == 60s);
    REQUIRE(up.health_check);
    CHECK(up.health_check->path == "/healthz?full=1");
    CHECK(up.health_check->interval == 2s);
    CHECK(up.health_check->timeout == 500ms);
}

TEST_CASE("a health check map may be partial", "[config][proxy]") {
    auto c = load_ok(kHead + "upstreams:\n  app:\n    servers: [127.0.0.1:3000]\n"
                             "    health_check: {path: /up}\n");
    const auto& hc = c->upstreams.at("app").health_check;
    REQUIRE(hc);
    CHECK(hc->path == "/up");
    CHECK(hc->interval == 5s);
    CHECK(hc->timeout == 2s);
}

TEST_CASE("proxy route options", "[config][proxy]") {
    auto c = load_ok(kHead + "routes:\n"
                             "  - prefix: /a/\n"
                             "    proxy: {upstream: app}\n"
                             "  - prefix: /b/\n"
                             "    proxy:\n"
                             "      upstream: app\n"
                             "      host: rewrite\n"
                             "      heartbeat: 3s\n"
                             "      connect_timeout: 1s\n"
                             "      read_timeout: 2m\n"
                             "  - prefix: /c/\n"
                             "    proxy:\n"
                             "      upstream: app\n"
                             "      host: api.internal:8080\n"
                             "      heartbeat: {interval: 1s, mode: data}\n"
                             "  - prefix: /d/\n"
                             "    proxy: {upstream: app, host: pass}\n"
                             "upstreams:\n  app: {servers: [127.0.0.1:3000]}\n");
    const proxy::RouteOptions& a = *c->routes[0].proxy;
    CHECK(a.host == proxy::HostMode::Pass);
    CHECK_FALSE(a.heartbeat);
    CHECK_FALSE(a.connect_timeout);
    CHECK_FALSE(a.read_timeout);
    const proxy::RouteOptions& b = *c->routes[1].proxy;
    CHECK(b.host == proxy::HostMode::Rewrite);
    REQUIRE(b.heartbeat);
    CHECK(b.heartbeat->interval == 3s);
    CHECK(b.heartbeat->mode == sse::HeartbeatMode::Comment);
    CHECK(b.connect_timeout == 1s);
    CHECK(b.read_timeout == 120s);
    const proxy::RouteOptions& cr = *c->routes[2].proxy;
    CHECK(cr.host == proxy::HostMode::Fixed);
    CHECK(cr.host_value == "api.internal:8080");
    REQUIRE(cr.heartbeat);
    CHECK(cr.heartbeat->interval == 1s);
    CHECK(cr.heartbeat->mode == sse::HeartbeatMode::Data);
    CHECK(c->routes[3].proxy->host == proxy::HostMode::Pass);
}

TEST_CASE("bad upstream values point at the value", "[config][proxy]") {
    CHECK(
        errors_of(kHead + "upstreams:\n"
                          "  app:\n"
                          "    servers: [127.0.0.1:3000]\n"
                          "    connect_timeout: 0ms\n"
                          "    read_timeout: 5\n"
                          "    max_idle: -1\n"
                          "    fail_timeout: soon\n"
                          "    health_check: {path: health, interval: 10ms}\n"
                          "    retries: 3\n") ==
        Lines{"t.yaml:5:22: upstreams.app.connect_timeout: must be greater than 0, got 0ms",
              "t.yaml:6:19: upstreams.app.read_timeout: expected a duration like 30s (units ms, "
              "s, m, h), got '5'",
              "t.yaml:7:15: upstreams.app.max_idle: expected a whole number, got '-1'",
              "t.yaml:8:19: upstreams.app.fail_timeout: expected a duration like 30s (units ms, "
              "s, m, h), got 'soon'",
              "t.yaml:9:26: upstreams.app.health_check.path: must be a path starting with / "
              "without spaces, like /health, got 'health'",
              "t.yaml:9:44: upstreams.app.health_check.interval: must be at least 100ms, got 10ms",
              "t.yaml:10:5: unknown key 'retries' in upstreams.app"});
}

TEST_CASE("bad proxy route options point at the value", "[config][proxy]") {
    CHECK(errors_of(kHead + "routes:\n"
                            "  - prefix: /a/\n"
                            "    proxy:\n"
                            "      upstream: app\n"
                            "      host: \"bad host/x\"\n"
                            "      heartbeat: 10ms\n"
                            "      read_timeout: never\n"
                            "      conect_timeout: 1s\n"
                            "upstreams:\n  app: {servers: [127.0.0.1:3000]}\n") ==
          Lines{"t.yaml:6:13: routes[0].proxy.host: expected pass, rewrite or a host name like "
                "api.internal:8080, got 'bad host/x'",
                "t.yaml:7:18: routes[0].proxy.heartbeat: must be at least 100ms, got 10ms",
                "t.yaml:8:21: routes[0].proxy.read_timeout: expected a duration like 30s (units "
                "ms, s, m, h), got 'never'",
                "t.yaml:9:7: unknown key 'conect_timeout' in routes[0].proxy (did you mean "
                "'connect_timeout'?)"});
}
