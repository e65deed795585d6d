// Valid configs: what load_config_string() builds from them, and which defaults apply.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "gateway/config/config.h"

using namespace sluice;
using namespace sluice::config;
using namespace std::chrono_literals;

namespace {

ConfigPtr load_ok(const std::string& yaml) {
    LoadResult r = load_config_string(yaml, "t.yaml");
    for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
    REQUIRE(r.errors.empty());
    REQUIRE(r.config);
    return r.config;
}

// The smallest config that is valid: a redis broker and nothing else.
const char* kRedisOnly = "broker: {type: redis}\n";

}  // namespace

TEST_CASE("the SPEC's minimal example loads with the values it names", "[config]") {
    auto c = load_ok(
        "listen: 127.0.0.1:8080\n"
        "workers: 1\n"
        "broker:\n"
        "  type: redis\n"
        "  url: redis://127.0.0.1:6379/0\n"
        "publish:\n"
        "  path: /_sluice/publish/{channel}\n"
        "  token: change-me\n"
        "routes:\n"
        "  - path: /api/analysis/{id}/stream\n"
        "    sse:\n"
        "      channel: analysis:{id}\n"
        "      heartbeat: 30s\n"
        "      history: {size: 1000, ttl: 1h}\n"
        "      terminal: [done, error]\n"
        "  - path: /api/analysis/{id}/poll\n"
        "    poll:\n"
        "      channel: analysis:{id}\n"
        "  - prefix: /api/\n"
        "    proxy:\n"
        "      upstream: app\n"
        "upstreams:\n"
        "  app:\n"
        "    servers: [127.0.0.1:3000]\n");
    CHECK(c->source == "t.yaml");
    REQUIRE(c->listen.size() == 1);
    CHECK(c->listen[0].host == "127.0.0.1");
    CHECK(c->listen[0].port == 8080);
    CHECK(c->workers == 1);
    CHECK(c->broker.type == broker::BrokerType::Redis);
    CHECK(c->broker.url == "redis://127.0.0.1:6379/0");
    REQUIRE(c->publish);
    CHECK(c->publish->path == "/_sluice/publish/{channel}");
    CHECK(c->publish->token == "change-me");

    REQUIRE(c->routes.size() == 3);
    const router::Route& sse = c->routes[0];
    CHECK(sse.path == "/api/analysis/{id}/stream");
    CHECK(sse.prefix.empty());
    CHECK(sse.kind == router::RouteKind::Sse);
    CHECK(sse.line == 10);
    CHECK(sse.methods == std::vector<std::string>{"GET", "HEAD"});
    REQUIRE(sse.sse);
    CHECK_FALSE(sse.poll);
    CHECK(sse.sse->channel == "analysis:{id}");
    CHECK(sse.sse->heartbeat.interval == 30s);
    CHECK(sse.sse->heartbeat.mode == sse::HeartbeatMode::Comment);
    CHECK(sse.sse->history.max_events == 1000);
    CHECK(sse.sse->history.ttl == 1h);
    CHECK(sse.sse->terminal == std::vector<std::string>{"done", "error"});

    const router::Route& poll = c->routes[1];
    CHECK(poll.kind == router::RouteKind::Poll);
    CHECK(poll.line == 16);
    CHECK(poll.methods == std::vector<std::string>{"GET", "HEAD"});
    REQUIRE(poll.poll);
    CHECK(poll.poll->channel == "analysis:{id}");

    const router::Route& proxy = c->routes[2];
    CHECK(proxy.kind == router::RouteKind::Proxy);
    CHECK(proxy.prefix == "/api/");
    CHECK(proxy.path.empty());
    CHECK(proxy.label() == "/api/*");
    CHECK(proxy.line == 19);
    CHECK(proxy.methods.empty());  // every method goes to the upstream
    REQUIRE(proxy.proxy);
    CHECK(proxy.proxy->upstream == "app");

    REQUIRE(c->upstreams.count("app") == 1);
    CHECK(c->upstreams.at("app").servers == std::vector<std::string>{"127.0.0.1:3000"});
}

TEST_CASE("keys left out keep their documented defaults", "[config]") {
    auto c = load_ok(
        "broker: {type: redis}\n"
        "routes:\n"
        "  - path: /s\n"
        "    sse: {channel: s}\n"
        "  - path: /p\n"
        "    poll: {channel: s}\n"
        "  - prefix: /files/\n"
        "    static: {root: /srv/www}\n");
    CHECK(c->listen.size() == 1);
    CHECK(c->listen[0].host == "127.0.0.1");
    CHECK(c->listen[0].port == 8080);
    CHECK(c->workers == 1);
    CHECK(c->broker.url == "redis://127.0.0.1:6379/0");
    CHECK_FALSE(c->publish);
    CHECK(c->drain_timeout == 10s);
    CHECK(c->drain_pace == 0s);  // streams all told at once unless paced
    CHECK(c->access_log == "stdout");
    CHECK(c->log_level == log::Level::Info);
    CHECK(c->limits.max_connections == 100000);
    CHECK(c->limits.max_header_size == 16 * 1024);
    CHECK(c->limits.header_timeout == 10s);
    CHECK(c->limits.client_buffer == 256 * 1024);
    CHECK(c->limits.max_event_size == 1024 * 1024);

    const sse::SseRouteOptions& sse = *c->routes[0].sse;
    CHECK(sse.heartbeat.interval == 15s);
    CHECK(sse.heartbeat.mode == sse::HeartbeatMode::Comment);
    CHECK(sse.history.max_events == 1000);
    CHECK(sse.history.max_bytes == 16u << 20);
    CHECK(sse.history.ttl == 1h);
    CHECK(sse.terminal == std::vector<std::string>{"done", "error"});
    CHECK(sse.start == sse::Start::Earliest);
    CHECK(sse.retry == 2000ms);
    CHECK(sse.on_broker_down == sse::BrokerDownPolicy::Hold);

    const sse::PollRouteOptions& poll = *c->routes[1].poll;
    CHECK(poll.terminal == std::vector<std::string>{"done", "error"});
    CHECK(poll.max_wait == 30s);
    CHECK(poll.max_events == 1000);

    const router::Route& files = c->routes[2];
    CHECK(files.kind == router::RouteKind::Static);
    CHECK(files.methods == std::vector<std::string>{"GET", "HEAD"});
    REQUIRE(files.static_files);
    CHECK(files.static_files->root == "/srv/www");
    CHECK(files.static_files->index == "index.html");
}

TEST_CASE("sse routes fall back to the defaults section, field by field", "[config]") {
    auto c = load_ok(
        "broker: {type: redis}\n"
        "defaults:\n"
        "  heartbeat: {interval: 20s, mode: data}\n"
        "  history: {size: 50, max_bytes: 1MiB, ttl: 10m}\n"
        "  retry: 5s\n"
        "routes:\n"
        "  - path: /plain\n"
        "    sse: {channel: a}\n"
        "  - path: /partial\n"
        "    sse:\n"
        "      channel: b\n"
        "      heartbeat: {interval: 1s}\n"
        "      history: {size: 7}\n"
        "      retry: 250ms\n");
    CHECK(c->defaults.heartbeat.interval == 20s);
    CHECK(c->defaults.retry == 5s);

    const sse::SseRouteOptions& plain = *c->routes[0].sse;
    CHECK(plain.heartbeat.interval == 20s);
    CHECK(plain.heartbeat.mode == sse::HeartbeatMode::Data);
    CHECK(plain.history.max_events == 50);
    CHECK(plain.history.max_bytes == 1024 * 1024);
    CHECK(plain.history.ttl == 10min);
    CHECK(plain.retry == 5s);

    const sse::SseRouteOptions& partial = *c->routes[1].sse;
    CHECK(partial.heartbeat.interval == 1s);
    CHECK(partial.heartbeat.mode == sse::HeartbeatMode::Data);  // from defaults
    CHECK(partial.history.max_events == 7);
    CHECK(partial.history.max_bytes == 1024 * 1024);       // from defaults
    CHECK(partial.history.ttl == 10min);                   // from defaults
    CHECK(partial.retry == 250ms);
}

TEST_CASE("history.positions_ttl: default 24h, set per route, in defaults and for Redis",
          "[config]") {
    auto c = load_ok(
        "broker:\n"
        "  type: redis\n"
        "  history: {ttl: 1m, positions_ttl: 2h}\n"
        "defaults:\n"
        "  history: {positions_ttl: 3h}\n"
        "routes:\n"
        "  - path: /a\n"
        "    sse: {channel: a}\n"
        "  - path: /b\n"
        "    sse:\n"
        "      channel: b\n"
        "      history: {ttl: 1s, positions_ttl: 90s}\n");
    CHECK(c->broker.history.ttl == 1min);
    CHECK(c->broker.history.positions_ttl == 2h);
    CHECK(c->defaults.history.positions_ttl == 3h);
    CHECK(c->routes[0].sse->history.positions_ttl == 3h);  // from defaults
    CHECK(c->routes[1].sse->history.positions_ttl == 90s);
    CHECK(c->routes[1].sse->history.ttl == 1s);
    auto d = load_ok(kRedisOnly);
    CHECK(d->broker.history.positions_ttl == 24h);
    CHECK(d->defaults.history.positions_ttl == 24h);
}

TEST_CASE("defaults may come after the routes that use them", "[config]") {
    auto c = load_ok(
        "broker: {type: redis}\n"
        "routes:\n"
        "  - path: /a\n"
        "    sse: {channel: a}\n"
        "defaults:\n"
        "  heartbeat: 5s\n");
    CHECK(c->routes[0].sse->heartbeat.interval == 5s);
}

TEST_CASE("every sse, poll and static option is read", "[config]") {
    auto c = load_ok(
        "broker: {type: redis}\n"
        "routes:\n"
        "  - path: /news\n"
        "    sse:\n"
        "      channel: news\n"
        "      heartbeat: {interval: 30s, mode: data}\n"
        "      history: {size: 10, max_bytes: 64KiB, ttl: 2h}\n"
        "      terminal: []\n"
        "      start: latest\n"
        "      retry: 3s\n"
        "      on_broker_down: pending\n"
        "  - path: /jobs/{job}/{step}/poll\n"
        "    poll:\n"
        "      channel: job:{job}.{step}\n"
        "      terminal: [finished]\n"
        "      max_wait: 1m\n"
        "      max_events: 20\n"
        "  - prefix: /\n"
        "    static: {root: ./public, index: home.htm}\n");
    const sse::SseRouteOptions& s = *c->routes[0].sse;
    CHECK(s.heartbeat.interval == 30s);
    CHECK(s.heartbeat.mode == sse::HeartbeatMode::Data);
    CHECK(s.history.max_events == 10);
    CHECK(s.history.max_bytes == 64 * 1024);
    CHECK(s.history.ttl == 2h);
    CHECK(s.terminal.empty());
    CHECK(s.start == sse::Start::Latest);
    CHECK(s.retry == 3s);
    CHECK(s.on_broker_down == sse::BrokerDownPolicy::Pending);

    const sse::PollRouteOptions& p = *c->routes[1].poll;
    CHECK(p.channel == "job:{job}.{step}");
    CHECK(p.terminal == std::vector<std::string>{"finished"});
    CHECK(p.max_wait == 1min);
    CHECK(p.max_events == 20);

    CHECK(c->routes[2].static_files->root == "./public");
    CHECK(c->routes[2].static_files->index == "home.htm");
    CHECK(c->routes[2].label() == "/*");
}

TEST_CASE("every top-level scalar and every limit is read", "[config]") {
    auto c = load_ok(
        "listen: [\"0.0.0.0:80\", \"[::1]:0\", localhost:8081]\n"
        "workers: 4\n"
        "broker: {type: redis, url: unix:///run/redis.sock}\n"
        "drain_timeout: 30s\n"
        "drain_pace: 20s\n"
        "access_log: /tmp/sluice-config-test-access.log\n"
        "log_level: debug\n"
        "limits:\n"
        "  max_connections: 5000\n"
        "  max_connections_per_ip: 10\n"
        "  max_header_size: 8KiB\n"
        "  max_url_length: 2048\n"
        "  header_timeout: 5s\n"
        "  idle_timeout: 2m\n"
        "  max_event_size: 64KiB\n"
        "  max_body_size: 2MiB\n"
        "  client_buffer: 512KiB\n"
        "  max_channels: 1000\n"
        "  max_history_bytes: 64MiB\n");
    REQUIRE(c->listen.size() == 3);
    CHECK(c->listen[0].host == "0.0.0.0");
    CHECK(c->listen[0].port == 80);
    CHECK(c->listen[1].host == "::1");
    CHECK(c->listen[1].port == 0);
    CHECK(c->listen[2].host == "127.0.0.1");
    CHECK(c->listen[2].port == 8081);
    CHECK(c->workers == 4);
    CHECK(c->broker.url == "unix:///run/redis.sock");
    CHECK(c->drain_timeout == 30s);
    CHECK(c->drain_pace == 20s);
    CHECK(c->access_log == "/tmp/sluice-config-test-access.log");
    CHECK(c->log_level == log::Level::Debug);
    const Limits& l = c->limits;
    CHECK(l.max_connections == 5000);
    CHECK(l.max_connections_per_ip == 10);
    CHECK(l.max_header_size == 8192);
    CHECK(l.max_url_length == 2048);
    CHECK(l.header_timeout == 5s);
    CHECK(l.idle_timeout == 2min);
    CHECK(l.max_event_size == 65536);
    CHECK(l.max_body_size == 2 * 1024 * 1024);
    CHECK(l.client_buffer == 512 * 1024);
    CHECK(l.max_channels == 1000);
    CHECK(l.max_history_bytes == 64ull << 20);
}

TEST_CASE("redis broker settings: key prefix, history in Redis, reconnect backoff",
          "[config]") {
    auto c = load_ok(
        "broker:\n"
        "  type: redis\n"
        "  url: redis://:pw@10.0.0.5:6380/2\n"
        "  key_prefix: \"app1:\"\n"
        "  history: {size: 500, ttl: 30m}\n"
        "  reconnect: {min: 250ms, max: 10s}\n");
    CHECK(c->broker.url == "redis://:pw@10.0.0.5:6380/2");
    CHECK(c->broker.key_prefix == "app1:");
    CHECK(c->broker.history.max_events == 500);
    CHECK(c->broker.history.ttl == 30min);
    CHECK(c->broker.reconnect_min == 250ms);
    CHECK(c->broker.reconnect_max == 10s);

    auto d = load_ok(kRedisOnly);
    CHECK(d->broker.key_prefix == "sluice:");
    CHECK(d->broker.history.max_events == 1000);
    CHECK(d->broker.history.ttl == 1h);
    CHECK(d->broker.reconnect_min == 100ms);
    CHECK(d->broker.reconnect_max == 5s);
}

TEST_CASE("workers: auto resolves to the number of cores at load", "[config]") {
    auto c = load_ok(std::string(kRedisOnly) + "workers: auto\n");
    unsigned cores = std::thread::hardware_concurrency();
    CHECK(c->workers == (cores == 0 ? 1u : std::min(cores, 1024u)));
}

TEST_CASE("a memory broker with a publish section is valid", "[config]") {
    auto c = load_ok(
        "broker: {type: memory}\n"
        "publish: {token: s3cret}\n");
    CHECK(c->broker.type == broker::BrokerType::Memory);
    REQUIRE(c->publish);
    CHECK(c->publish->path == "/_sluice/publish/{channel}");
    CHECK(c->publish->token == "s3cret");
}

TEST_CASE("a missing broker section means memory, which then needs only publish",
          "[config]") {
    auto c = load_ok("publish: {token: t}\n");
    CHECK(c->broker.type == broker::BrokerType::Memory);
}

TEST_CASE("load_config_file reads a file and names it in the result", "[config]") {
    auto dir = std::filesystem::temp_directory_path() / "sluice_config_test";
    std::filesystem::create_directories(dir);
    auto file = dir / "ok.yaml";
    {
        std::ofstream out(file);
        out << "broker: {type: redis}\nworkers: 3\n";
    }
    LoadResult r = load_config_file(file.string());
    REQUIRE(r.errors.empty());
    REQUIRE(r.config);
    CHECK(r.config->source == file.string());
    CHECK(r.config->workers == 3);
    std::filesystem::remove_all(dir);
}

TEST_CASE("the SPEC's redis-cluster broker loads its seed nodes", "[config]") {
    auto c = load_ok(
        "broker:\n"
        "  type: redis-cluster\n"
        "  nodes: [redis://10.0.0.1:6379, redis://10.0.0.2:6379]   # seeds\n");
    CHECK(c->broker.type == broker::BrokerType::RedisCluster);
    CHECK(c->broker.nodes == std::vector<std::string>{"redis://10.0.0.1:6379", "redis://10.0.0.2:6379"});
    CHECK(c->broker.key_prefix == "sluice:");
    CHECK(std::string(broker::broker_type_name(c->broker.type)) == "redis-cluster");
}
