// Invalid configs: each mistake gives one exact "file:line:col: message" line pointing at
// the offending key or value, and every mistake in a file is reported, in file order.
#include <catch2/catch.hpp>

#include "gateway/config/config.h"

using namespace sluice::config;

namespace {

std::vector<std::string> errors_of(const std::string& yaml) {
    LoadResult r = load_config_string(yaml, "t.yaml");
    std::vector<std::string> out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    // A config is handed out only when there is nothing to complain about.
    CHECK(bool(r.config) == out.empty());
    return out;
}

using Lines = std::vector<std::string>;

// Valid preamble for tests about routes: one line, so route lines start at 2.
const std::string kRedis = "broker: {type: redis}\n";

}  // namespace

TEST_CASE("ConfigError prints file:line:col: message", "[config]") {
    CHECK(ConfigError{"a.yaml", 3, 7, "boom"}.to_string() == "a.yaml:3:7: boom");
    CHECK(ConfigError{"a.yaml", 0, 0, "cannot read"}.to_string() == "a.yaml: cannot read");
}

TEST_CASE("unknown keys are errors at every level, pointing at the key", "[config]") {
    CHECK(errors_of(kRedis + "colour: blue\n") ==
          Lines{"t.yaml:2:1: unknown top-level key 'colour'"});
    CHECK(errors_of(kRedis +
                    "routes:\n"
                    "  - path: /a\n"
                    "    sse:\n"
                    "      channel: a\n"
                    "      foo: 1\n") == Lines{"t.yaml:6:7: unknown key 'foo' in routes[0].sse"});
    CHECK(errors_of(kRedis + "limits: {max_conections: 5}\n") ==
          Lines{"t.yaml:2:10: unknown key 'max_conections' in limits "
                "(did you mean 'max_connections'?)"});
}

TEST_CASE("a bad duration points at the value", "[config]") {
    CHECK(errors_of(kRedis + "drain_timeout: 10\n") ==
          Lines{"t.yaml:2:16: drain_timeout: expected a duration like 30s (units ms, s, m, h), "
                "got '10'"});
    CHECK(errors_of(kRedis + "limits:\n  header_timeout: 1.5s\n") ==
          Lines{"t.yaml:3:19: limits.header_timeout: expected a duration like 30s "
                "(units ms, s, m, h), got '1.5s'"});
}

TEST_CASE("drain_pace must leave time before drain_timeout cuts the streams", "[config]") {
    CHECK(errors_of(kRedis + "drain_pace: 10s\n") ==
          Lines{"t.yaml:2:13: drain_pace: must be shorter than drain_timeout (10000ms): streams "
                "not closed by then are cut"});
    CHECK(errors_of(kRedis + "drain_pace: 20s\ndrain_timeout: 30s\n").empty());
    CHECK(errors_of(kRedis + "drain_pace: soon\n") ==
          Lines{"t.yaml:2:13: drain_pace: expected a duration like 30s (units ms, s, m, h), "
                "got 'soon'"});
}

TEST_CASE("a bad size points at the value", "[config]") {
    CHECK(errors_of(kRedis + "limits:\n  client_buffer: 64 KiB\n") ==
          Lines{"t.yaml:3:18: limits.client_buffer: expected a size like 512, 64KiB or 1MiB, "
                "got '64 KiB'"});
    CHECK(errors_of(kRedis + "limits:\n  max_event_size: 0\n") ==
          Lines{"t.yaml:3:19: limits.max_event_size: must be greater than 0, got 0"});
    CHECK(errors_of(kRedis + "limits:\n  max_history_bytes: lots\n") ==
          Lines{"t.yaml:3:22: limits.max_history_bytes: expected a size like 512, 64KiB or 1MiB, "
                "got 'lots'"});
}

TEST_CASE("the history budget must hold the largest event", "[config]") {
    CHECK(errors_of(kRedis + "limits:\n  max_event_size: 2MiB\n  max_history_bytes: 1MiB\n") ==
          Lines{"t.yaml:4:22: limits.max_history_bytes: must be at least limits.max_event_size "
                "(2097152), got 1048576"});
    CHECK(errors_of(kRedis + "limits:\n  max_event_size: 512MiB\n") ==
          Lines{"t.yaml:3:19: limits.max_history_bytes: must be at least limits.max_event_size "
                "(536870912), got 268435456"});
    CHECK(errors_of(kRedis + "limits:\n  max_history_bytes: 1MiB\n").empty());
}

TEST_CASE("a value of the wrong shape names what was expected", "[config]") {
    CHECK(errors_of(kRedis + "routes: {path: /a}\n") ==
          Lines{"t.yaml:2:9: routes: expected a list of routes, got a map"});
    CHECK(errors_of(kRedis + "limits: [1]\n") ==
          Lines{"t.yaml:2:9: limits: expected a map of settings, got a list"});
    // An empty value is reported at its key, not at whatever token follows it.
    CHECK(errors_of(kRedis + "drain_timeout:\nlog_level: info\n") ==
          Lines{"t.yaml:2:1: drain_timeout: expected a duration like 30s (units ms, s, m, h), "
                "got nothing"});
    CHECK(errors_of(kRedis + "log_level: verbose\n") ==
          Lines{"t.yaml:2:12: log_level: expected debug, info, warn or error, got 'verbose'"});
}

// Found by tests/fuzz/config_fuzz.cc: a value with a line break made a two-line message.
TEST_CASE("a quoted value with control characters stays on one line", "[config]") {
    CHECK(errors_of(kRedis + "log_level: \"a\\nb\\r\\x01\"\n") ==
          Lines{"t.yaml:2:12: log_level: expected debug, info, warn or error, "
                "got 'a\\nb\\r\\x01'"});
    CHECK(errors_of(kRedis + "log_level: one\n\n  two\n") ==
          Lines{"t.yaml:2:12: log_level: expected debug, info, warn or error, "
                "got 'one\\ntwo'"});
}

TEST_CASE("a missing required key is reported at its parent map", "[config]") {
    CHECK(errors_of(kRedis +
                    "routes:\n"
                    "  - path: /a\n"
                    "    sse:\n"
                    "      heartbeat: 5s\n") ==
          Lines{"t.yaml:5:7: missing required key 'channel' in routes[0].sse"});
    CHECK(errors_of(kRedis + "routes:\n  - path: /p\n    poll: {max_events: 5}\n") ==
          Lines{"t.yaml:4:11: missing required key 'channel' in routes[0].poll"});
    // Inside a flow map {...} a template needs quotes, or its braces end the map.
    CHECK(errors_of(kRedis + "publish: {path: \"/pub/{channel}\"}\n") ==
          Lines{"t.yaml:2:10: missing required key 'token' in publish"});
}

TEST_CASE("channel placeholders must be captures of the route's path", "[config]") {
    CHECK(errors_of(kRedis +
                    "routes:\n"
                    "  - path: /rooms/{room}/events\n"
                    "    sse: {channel: \"room:{id}\"}\n") ==
          Lines{"t.yaml:4:20: routes[0].sse.channel: channel uses {id} but the path has no {id}"});
    CHECK(errors_of(kRedis +
                    "routes:\n"
                    "  - prefix: /rooms/\n"
                    "    poll: {channel: \"room:{id}\"}\n") ==
          Lines{"t.yaml:4:21: routes[0].poll.channel: channel uses {id} but a prefix route has "
                "no captures (use 'path')"});
}

TEST_CASE("literal channel characters are limited to [A-Za-z0-9_.:-]", "[config]") {
    CHECK(errors_of(kRedis + "routes:\n  - path: /a\n    sse: {channel: \"news*\"}\n") ==
          Lines{"t.yaml:4:20: routes[0].sse.channel: invalid character '*' in channel "
                "(allowed: letters, digits and _ . : -)"});
    CHECK(errors_of(kRedis + "routes:\n  - path: /a\n    sse: {channel: \"my news\"}\n") ==
          Lines{"t.yaml:4:20: routes[0].sse.channel: invalid character ' ' (space) in channel "
                "(allowed: letters, digits and _ . : -)"});
    CHECK(errors_of(kRedis + "routes:\n  - path: /a/{id}\n    sse: {channel: \"a:{id\"}\n") ==
          Lines{"t.yaml:4:20: routes[0].sse.channel: unclosed '{' in channel"});
}

TEST_CASE("a proxy route must name a defined upstream", "[config]") {
    CHECK(errors_of(kRedis +
                    "routes:\n"
                    "  - prefix: /api/\n"
                    "    proxy: {upstream: ap}\n"
                    "upstreams:\n"
                    "  app: {servers: [\"127.0.0.1:3000\"]}\n") ==
          Lines{"t.yaml:4:23: routes[0].proxy.upstream: unknown upstream 'ap' "
                "(define it under upstreams)"});
}

TEST_CASE("a route has exactly one of path and prefix", "[config]") {
    CHECK(errors_of(kRedis +
                    "routes:\n"
                    "  - path: /a/{id}\n"
                    "    prefix: /a/\n"
                    "    sse: {channel: \"a:{id}\"}\n") ==
          Lines{"t.yaml:4:5: routes[0]: has both 'path' and 'prefix'; a route matches by one "
                "of them"});
    CHECK(errors_of(kRedis + "routes:\n  - sse: {channel: a}\n") ==
          Lines{"t.yaml:3:5: routes[0]: needs 'path' or 'prefix'"});
}

TEST_CASE("a route has exactly one handler", "[config]") {
    CHECK(errors_of(kRedis +
                    "routes:\n"
                    "  - path: /a\n"
                    "    sse: {channel: a}\n"
                    "    poll: {channel: a}\n") ==
          Lines{"t.yaml:5:5: routes[0]: has both 'sse' and 'poll'; a route has exactly one "
                "handler"});
    CHECK(errors_of(kRedis + "routes:\n  - path: /a\n") ==
          Lines{"t.yaml:3:5: routes[0]: needs a handler: one of sse, poll, proxy or static"});
}

TEST_CASE("path templates and prefixes are checked", "[config]") {
    CHECK(errors_of(kRedis + "routes:\n  - path: api/x\n    sse: {channel: a}\n") ==
          Lines{"t.yaml:3:11: routes[0].path: must start with '/'"});
    CHECK(errors_of(kRedis + "routes:\n  - path: /a/x{id}\n    sse: {channel: a}\n") ==
          Lines{"t.yaml:3:11: routes[0].path: a capture must be a whole segment like /{id}/, "
                "got 'x{id}'"});
    CHECK(errors_of(kRedis + "routes:\n  - path: /a/{id}/{id}\n    sse: {channel: a}\n") ==
          Lines{"t.yaml:3:11: routes[0].path: capture {id} appears twice"});
    CHECK(errors_of(kRedis + "routes:\n  - prefix: /a/{id}\n    sse: {channel: a}\n") ==
          Lines{"t.yaml:3:13: routes[0].prefix: a prefix is literal; use 'path' for {captures}"});
}

TEST_CASE("broker and publish are checked", "[config]") {
    CHECK(errors_of("broker: {type: memory}\n") ==
          Lines{"t.yaml:1:1: broker: the memory broker requires a 'publish' section (with no "
                "Redis, workers publish over HTTP)"});
    CHECK(errors_of("broker:\n  type: redis\n  url: http://localhost:6379\n") ==
          Lines{"t.yaml:3:8: broker.url: must start with redis:// or unix://, got "
                "'http://localhost:6379'"});
    // A bad type is one error; the memory-needs-publish rule is not applied on top.
    CHECK(errors_of("broker: {type: kafka}\n") ==
          Lines{"t.yaml:1:16: broker.type: expected memory, redis or redis-cluster, got 'kafka'"});
    CHECK(errors_of(kRedis + "publish: {path: /pub, token: t}\n") ==
          Lines{"t.yaml:2:17: publish.path: must contain {channel} as its only capture, like "
                "/_sluice/publish/{channel}"});
    CHECK(errors_of(kRedis + "publish: {token: \"\"}\n") ==
          Lines{"t.yaml:2:18: publish.token: must not be empty"});
}

TEST_CASE("redis-cluster needs seed nodes as redis:// URLs, and nothing of the single-server broker",
          "[config]") {
    CHECK(errors_of("broker: {type: redis-cluster}\n") ==
          Lines{"t.yaml:1:9: missing required key 'nodes' in broker"});
    CHECK(errors_of("broker:\n  type: redis-cluster\n  nodes: []\n") ==
          Lines{"t.yaml:3:10: broker.nodes: must list at least one seed node"});
    CHECK(errors_of("broker:\n  type: redis-cluster\n  nodes: redis://10.0.0.1:6379\n") ==
          Lines{"t.yaml:3:10: broker.nodes: expected a list of seed node URLs like "
                "[redis://10.0.0.1:6379], got 'redis://10.0.0.1:6379'"});
    // The host:port shorthand is not a URL; every bad item is reported, where it is.
    CHECK(errors_of("broker:\n  type: redis-cluster\n"
                    "  nodes: [10.0.0.1:6379, redis://a:1/2, unix:///run/r.sock, redis://b:0]\n") ==
          Lines{"t.yaml:3:11: broker.nodes[0]: must be a redis:// URL like redis://10.0.0.1:6379, "
                "got '10.0.0.1:6379'",
                "t.yaml:3:26: broker.nodes[1]: Redis Cluster has only database 0, got 2",
                "t.yaml:3:41: broker.nodes[2]: must be a redis:// URL like redis://10.0.0.1:6379, "
                "got 'unix:///run/r.sock'",
                "t.yaml:3:61: broker.nodes[3]: redis URL port must be 1-65535, got '0'"});
    CHECK(errors_of("broker:\n  type: redis-cluster\n  nodes: [\"redis://u:hunter2@h:1\", "
                    "\"rediss://u:hunter2@h:2\"]\n") ==
          Lines{"t.yaml:3:36: broker.nodes[1]: rediss:// (TLS) is not supported by this build's "
                "hiredis, nor Redis Cluster over TLS (docs/tls.md, Redis over TLS)"});
    CHECK(errors_of("broker:\n  type: redis-cluster\n  nodes: [{host: a}]\n") ==
          Lines{"t.yaml:3:11: broker.nodes[0]: expected a string, got a map"});
    // url belongs to type redis, nodes to redis-cluster.
    CHECK(errors_of("broker:\n  type: redis-cluster\n  nodes: [redis://a:7000]\n"
                    "  url: redis://a:7000\n") ==
          Lines{"t.yaml:4:3: broker.url: not used with type redis-cluster; list the seed nodes "
                "in 'nodes'"});
    CHECK(errors_of("broker:\n  type: redis\n  nodes: [redis://a:7000]\n") ==
          Lines{"t.yaml:3:3: broker.nodes: only used with type redis-cluster (this broker is "
                "redis)"});
    CHECK(errors_of("broker:\n  type: redis-cluster\n  nodes: [redis://a:7000, "
                    "\"redis://:pw@b:7001\"]\n  key_prefix: \"app:\"\n")
              .empty());
}

TEST_CASE("redis broker settings are checked", "[config]") {
    CHECK(errors_of("broker:\n  type: redis\n  key_prefix: \"{x}:\"\n") ==
          Lines{"t.yaml:3:15: broker.key_prefix: must not contain braces, spaces or control "
                "characters, got '{x}:'"});
    CHECK(errors_of("broker:\n  type: redis\n  reconnect: {min: 2s, max: 1s}\n") ==
          Lines{"t.yaml:3:29: broker.reconnect.max: must be at least min (2s), got 1s"});
    // The Redis-side history is capped by count and age only.
    CHECK(errors_of("broker:\n  type: redis\n  history: {max_bytes: 1MiB}\n") ==
          Lines{"t.yaml:3:13: unknown key 'max_bytes' in broker.history"});
}

TEST_CASE("ranges: workers, heartbeat interval, history size, listen", "[config]") {
    CHECK(errors_of(kRedis + "workers: 0\n") ==
          Lines{"t.yaml:2:10: workers: must be between 1 and 1024 (or \"auto\"), got 0"});
    CHECK(errors_of(kRedis + "workers: many\n") ==
          Lines{"t.yaml:2:10: workers: expected a number or \"auto\", got 'many'"});
    CHECK(errors_of(kRedis + "defaults: {heartbeat: 50ms}\n") ==
          Lines{"t.yaml:2:23: defaults.heartbeat: must be at least 100ms, got 50ms"});
    CHECK(errors_of(kRedis + "defaults: {history: {size: 0}}\n") ==
          Lines{"t.yaml:2:28: defaults.history.size: must be at least 1, got 0"});
    CHECK(errors_of(kRedis + "defaults: {history: {positions_ttl: 0s}}\n") ==
          Lines{"t.yaml:2:37: defaults.history.positions_ttl: must be greater than 0, got 0s"});
    CHECK(errors_of(kRedis +
                    "routes:\n"
                    "  - path: /a\n"
                    "    sse:\n"
                    "      channel: a\n"
                    "      history: {positions_ttl: 24}\n") ==
          Lines{"t.yaml:6:32: routes[0].sse.history.positions_ttl: expected a duration like "
                "30s (units ms, s, m, h), got '24'"});
    CHECK(errors_of("broker:\n  type: redis\n  history: {positions_ttl: 1d}\n") ==
          Lines{"t.yaml:3:28: broker.history.positions_ttl: expected a duration like 30s "
                "(units ms, s, m, h), got '1d'"});
    CHECK(errors_of(kRedis + "listen: \"::1:8080\"\n") ==
          Lines{"t.yaml:2:9: listen: an IPv6 address needs brackets, like [::1]:8080"});
    CHECK(errors_of(kRedis + "listen: [\"127.0.0.1:8080\", \"127.0.0.1:70000\"]\n") ==
          Lines{"t.yaml:2:28: listen[1]: port must be a number from 0 to 65535, got '70000'"});
}

TEST_CASE("a repeated key is an error at its second occurrence", "[config]") {
    CHECK(errors_of(kRedis + "workers: 2\nworkers: 3\n") ==
          Lines{"t.yaml:3:1: duplicate top-level key 'workers'"});
}

TEST_CASE("a YAML syntax error becomes one error at yaml-cpp's position", "[config]") {
    // yaml-cpp reports where it noticed the problem: here, the next line.
    CHECK(errors_of("broker: {type: redis\nworkers: 2\n") ==
          Lines{"t.yaml:2:8: YAML syntax error: end of map flow not found"});
    CHECK(errors_of("listen: [a, b\n") ==
          Lines{"t.yaml:2:1: YAML syntax error: end of sequence flow not found"});
    CHECK(errors_of("workers: 1\n bad: indent\n") ==
          Lines{"t.yaml:2:5: YAML syntax error: illegal map value"});
    // yaml-cpp 0.7 would loop forever on this one (found by fuzzing).
    CHECK(errors_of("# comment\n, stray comma\nworkers: 1\n") ==
          Lines{"t.yaml:2:1: YAML syntax error: unexpected ','"});
}

TEST_CASE("empty files and multi-document files are rejected", "[config]") {
    CHECK(errors_of("") == Lines{"t.yaml:1:1: the config is empty"});
    CHECK(errors_of("# only a comment\n") == Lines{"t.yaml:1:1: the config is empty"});
    CHECK(errors_of(kRedis + "---\nworkers: 2\n") ==
          Lines{"t.yaml:2:1: only one YAML document is allowed (remove the '---')"});
    // A leading '---' just opens the one document.
    CHECK(errors_of("---\n" + kRedis).empty());
}

TEST_CASE("every error in a file is reported, in file order", "[config]") {
    // Routes are read after defaults and upstreams, yet errors come out in file order.
    const std::string yaml =
        "broker: {type: redis}\n"                    // 1
        "routes:\n"                                  // 2
        "  - path: /a/{id}\n"                        // 3
        "    sse:\n"                                 // 4
        "      channel: \"a:{job}\"\n"               // 5
        "      heartbeat: soon\n"                    // 6
        "  - prefix: /b/\n"                          // 7
        "    proxy: {upstream: nowhere}\n"           // 8
        "defaults:\n"                                // 9
        "  retry: 2\n"                               // 10
        "upstreams:\n"                               // 11
        "  app: {servers: []}\n"                     // 12
        "bogus: true\n";                             // 13
    CHECK(errors_of(yaml) ==
          Lines{
              "t.yaml:5:16: routes[0].sse.channel: channel uses {job} but the path has no {job}",
              "t.yaml:6:18: routes[0].sse.heartbeat: expected a duration like 30s (units ms, s, "
              "m, h), got 'soon'",
              "t.yaml:8:23: routes[1].proxy.upstream: unknown upstream 'nowhere' (define it "
              "under upstreams)",
              "t.yaml:10:10: defaults.retry: expected a duration like 30s (units ms, s, m, h), "
              "got '2'",
              "t.yaml:12:18: upstreams.app.servers: must list at least one server",
              "t.yaml:13:1: unknown top-level key 'bogus'",
          });
}

TEST_CASE("load_config_file reports an unreadable file without a position", "[config]") {
    LoadResult r = load_config_file("/nonexistent/sluice.yaml");
    CHECK_FALSE(r.config);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].to_string() ==
          "/nonexistent/sluice.yaml: cannot read config: No such file or directory");
}

TEST_CASE("broker.url is parsed whole by --check, and never echoes a password", "[config]") {
    CHECK(errors_of("broker:\n  type: redis\n  url: redis://h:99999/0\n") ==
          Lines{"t.yaml:3:8: broker.url: redis URL port must be 1-65535, got '99999'"});
    CHECK(errors_of("broker:\n  type: redis\n  url: redis://h:6379/x\n") ==
          Lines{"t.yaml:3:8: broker.url: redis URL database must be a number, got 'x'"});
    CHECK(errors_of("broker:\n  type: redis\n  url: redis://h/0?colour=red\n") ==
          Lines{"t.yaml:3:8: broker.url: unknown redis URL query key 'colour'"});
    Lines tls = errors_of("broker:\n  type: redis\n  url: rediss://user:hunter2@h:6380/0\n");
    REQUIRE(tls.size() == 1);
    CHECK(tls[0] == "t.yaml:3:8: broker.url: rediss:// (TLS) is not supported by this build's hiredis; reach a "
                    "TLS Redis through a local TLS tunnel (docs/tls.md, Redis over TLS)");
    CHECK(tls[0].find("hunter2") == std::string::npos);
    CHECK(errors_of("broker:\n  type: redis\n  url: http://user:hunter2@h:6379\n") ==
          Lines{"t.yaml:3:8: broker.url: must start with redis:// or unix://, got "
                "'http://***@h:6379'"});
    for (const char* bad : {"redis://:hunter2@h:0/0", "redis://u:hunter2@h/zz", "unix://:hunter2@rel"}) {
        for (const auto& line : errors_of(std::string("broker:\n  type: redis\n  url: ") + bad + "\n"))
            CHECK(line.find("hunter2") == std::string::npos);
    }
}

TEST_CASE("access_log must be a file sluice can append to", "[config]") {
    const std::string base = "broker: {type: memory}\npublish: {token: t}\naccess_log: ";
    CHECK(errors_of(base + "/nonexistent-sluice-dir/access.log\n") ==
          Lines{"t.yaml:3:13: access_log: cannot create '/nonexistent-sluice-dir/access.log': "
                "folder '/nonexistent-sluice-dir' does not exist"});
    CHECK(errors_of(base + "/tmp\n") == Lines{"t.yaml:3:13: access_log: '/tmp' is a directory"});
    CHECK(errors_of(base + "\"\"\n") ==
          Lines{"t.yaml:3:13: access_log: must be stdout, stderr, off or a file path"});
    CHECK(errors_of(base + "off\n").empty());
    CHECK(errors_of(base + "/tmp/sluice-config-test-access.log\n").empty());
}

TEST_CASE("a route that an earlier route always matches first is an error", "[config]") {
    // Same template (capture names do not matter), same prefix, a prefix that covers a
    // later path: the later route could never answer anything.
    CHECK(errors_of(kRedis +
                    "routes:\n"
                    "  - path: /a/{id}\n"
                    "    sse: {channel: \"a:{id}\"}\n"
                    "  - path: /a/{x}\n"
                    "    poll: {channel: \"a:{x}\"}\n") ==
          Lines{"t.yaml:5:11: routes[1].path: this route can never match: routes[0] (line 3) "
                "matches every request it would"});
    CHECK(errors_of(kRedis +
                    "upstreams: {app: {servers: [\"127.0.0.1:1\"]}}\n"
                    "routes:\n"
                    "  - prefix: /api/\n"
                    "    proxy: {upstream: app}\n"
                    "  - path: /api/{id}/stream\n"
                    "    sse: {channel: \"a:{id}\"}\n"
                    "  - prefix: /api/v2/\n"
                    "    proxy: {upstream: app}\n") ==
          Lines{"t.yaml:6:11: routes[1].path: this route can never match: routes[0] (line 4) "
                "matches every request it would",
                "t.yaml:8:13: routes[2].prefix: this route can never match: routes[0] (line 4) "
                "matches every request it would"});
    // Overlapping but not covering: both can answer something.
    CHECK(errors_of(kRedis +
                    "upstreams: {app: {servers: [\"127.0.0.1:1\"]}}\n"
                    "routes:\n"
                    "  - path: /api/{id}/stream\n"
                    "    sse: {channel: \"a:{id}\"}\n"
                    "  - prefix: /api/\n"
                    "    proxy: {upstream: app}\n"
                    "  - path: /api/{id}/poll\n"
                    "    poll: {channel: \"a:{id}\"}\n"
                    "  - path: /b/{id}\n"
                    "    poll: {channel: \"a:{id}\"}\n")
              .size() == 1);  // only /api/{id}/poll, which the /api/ prefix covers
}

TEST_CASE("an unquoted IPv6 listen address gets a hint with the YAML error", "[config]") {
    const std::string hint = " (an IPv6 address with a port must be quoted: listen: \"[::1]:8080\")";
    CHECK(errors_of("listen: [::1]:8080\n") ==
          Lines{"t.yaml:1:14: YAML syntax error: end of map not found" + hint});
    CHECK(errors_of("listen:\n  - [2001:db8::1]:8080\n") ==
          Lines{"t.yaml:2:18: YAML syntax error: end of sequence not found" + hint});
    // Other syntax errors get no such hint.
    Lines other = errors_of("listen: [a, b\n");
    REQUIRE(other.size() == 1);
    CHECK(other[0].find("IPv6") == std::string::npos);
}

// Issue 9: a token that could never match a "Bearer" header passed --check.
TEST_CASE("publish.token must be visible ASCII, and the error never shows it", "[config]") {
    const std::string kWhat = ": must be visible ASCII characters only (no spaces, tabs, "
                              "control characters or non-ASCII bytes)";
    CHECK(errors_of(kRedis + "publish: {token: \" \"}\n") ==
          Lines{"t.yaml:2:18: publish.token" + kWhat});
    CHECK(errors_of(kRedis + "publish:\n  token: \"sec ret\"\n") ==
          Lines{"t.yaml:3:10: publish.token" + kWhat});
    for (const char* bad : {"\"secret\\r\\n\"", "\"sec\\tret\"", "\"sec\\x01ret\"",
                            "\"sec\\x7fret\"", "\"s\u00e9cret\"", "\"secret \""}) {
        INFO(bad);
        Lines errs = errors_of(kRedis + "publish: {token: " + bad + "}\n");
        REQUIRE(errs.size() == 1);
        CHECK(errs[0] == "t.yaml:2:18: publish.token" + kWhat);
        CHECK(errs[0].find("sec") == std::string::npos);
    }
    CHECK(errors_of(kRedis + "publish: {token: \"s3cr3t-_.~+/=!\"}\n").empty());
}
