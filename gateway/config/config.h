// The typed, validated configuration. Built once from YAML by load_config() and then
// shared read-only (std::shared_ptr<const Config>) by every worker; hot paths never
// look at YAML. docs/configuration.md describes every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::config {

using Millis = std::chrono::milliseconds;

struct ListenAddress {
    std::string host;   // numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "0.0.0.0")
    uint16_t port = 0;  // 0 = pick a free port (tests)
};

struct HistoryConfig {
    uint64_t size = 1000;            // max events kept per channel
    uint64_t max_bytes = 16 << 20;   // max encoded bytes kept per channel
    Millis ttl = std::chrono::hours(1);
    // How long a channel's head (its last position) is remembered after its last event,
    // so that positions are never reused; taken as at least ttl.
    Millis positions_ttl = std::chrono::hours(24);
};

enum class HeartbeatMode { Comment, Data };

struct HeartbeatConfig {
    Millis interval = std::chrono::seconds(15);
    HeartbeatMode mode = HeartbeatMode::Comment;
};

enum class StartMode { Earliest, Latest };
enum class BrokerDownPolicy { Hold, Pending };

struct SseRoute {
    std::string channel;  // channel template, e.g. "analysis:{id}"
    HeartbeatConfig heartbeat;
    HistoryConfig history;
    std::vector<std::string> terminal{"done", "error"};
    StartMode start = StartMode::Earliest;
    Millis retry = std::chrono::milliseconds(2000);  // initial "retry:" sent to clients
    BrokerDownPolicy on_broker_down = BrokerDownPolicy::Hold;
};

struct PollRoute {
    std::string channel;
    std::vector<std::string> terminal{"done", "error"};
    Millis max_wait = std::chrono::seconds(30);  // upper bound for ?wait=
    uint64_t max_events = 1000;                  // events per response
};

// How the Host header of a proxied request is set.
enum class HostMode {
    Pass,     // the client's Host, unchanged
    Rewrite,  // the chosen server's "host:port"
    Fixed,    // ProxyRoute::host_value
};

struct ProxyRoute {
    ProxyRoute() = default;
    explicit ProxyRoute(std::string name) : upstream(std::move(name)) {}

    std::string upstream;  // key into Config::upstreams
    HostMode host = HostMode::Pass;
    std::string host_value;  // for HostMode::Fixed
    // For text/event-stream responses: heartbeats injected between events while the
    // upstream is idle. Unset = none.
    std::optional<HeartbeatConfig> heartbeat;
    // Per-route overrides of the upstream's timeouts.
    std::optional<Millis> connect_timeout;
    std::optional<Millis> read_timeout;
};

struct StaticRoute {
    std::string root;      // folder
    std::string index = "index.html";
};

enum class RouteKind { Sse, Poll, Proxy, Static };

struct Route {
    // Exactly one of path / prefix is set.
    std::string path;    // template: literal segments and {name} captures
    std::string prefix;  // literal prefix match
    RouteKind kind = RouteKind::Sse;
    std::optional<SseRoute> sse;
    std::optional<PollRoute> poll;
    std::optional<ProxyRoute> proxy;
    std::optional<StaticRoute> static_files;
    int line = 0;  // 1-based line in the config file, for messages

    // Label used in metrics and logs: the path template or "prefix*".
    std::string label() const { return path.empty() ? prefix + "*" : path; }
};

struct HealthCheckConfig {
    std::string path = "/";                      // GET path; 2xx or 3xx = healthy
    Millis interval = std::chrono::seconds(5);
    Millis timeout = std::chrono::seconds(2);    // connect + answer
};

struct Upstream {
    std::vector<std::string> servers;  // "host:port"
    Millis connect_timeout = std::chrono::seconds(5);
    Millis read_timeout = std::chrono::seconds(60);  // longest wait for upstream bytes
    Millis idle_timeout = std::chrono::seconds(60);  // pooled keep-alive connections
    uint64_t max_idle = 32;  // idle connections kept per server per worker loop
    // Passive health: after max_fails failures in a row a server is skipped for
    // fail_timeout. max_fails 0 turns it off.
    uint64_t max_fails = 1;
    Millis fail_timeout = std::chrono::seconds(10);
    std::optional<HealthCheckConfig> health_check;  // active checks; unset = none
};

enum class BrokerType { Memory, Redis };

struct BrokerConfig {
    BrokerType type = BrokerType::Memory;
    std::string url = "redis://127.0.0.1:6379/0";
    // Redis only: prefix of every key sluice writes, the per-channel history kept in
    // Redis for sequenced publishing, and the reconnect backoff.
    std::string key_prefix = "sluice:";
    HistoryConfig history;
    Millis reconnect_min = std::chrono::milliseconds(100);
    Millis reconnect_max = std::chrono::seconds(5);
};

struct PublishConfig {
    std::string path = "/_sluice/publish/{channel}";  // must contain {channel}
    std::string token;                                // required, non-empty
};

struct Limits {
    uint64_t max_connections = 100000;        // per process; over it new connections are closed
    uint64_t max_connections_per_ip = 0;      // 0 = unlimited
    uint64_t max_header_size = 16 * 1024;     // request line + headers; over -> 431
    uint64_t max_url_length = 8 * 1024;       // over -> 414
    Millis header_timeout = std::chrono::seconds(10);  // slow headers -> 408
    Millis idle_timeout = std::chrono::seconds(60);    // keep-alive idle, non-SSE
    uint64_t max_event_size = 1024 * 1024;    // publish payload; over -> 413
    uint64_t max_body_size = 1024 * 1024;     // other request bodies; over -> 413
    uint64_t client_buffer = 256 * 1024;      // per-connection output budget (live events)
    uint64_t max_channels = 1000000;          // channels holding events, per process
    uint64_t max_history_bytes = 256ull << 20;  // history bytes per process (all loops)
};

struct Defaults {
    HeartbeatConfig heartbeat;
    HistoryConfig history;
    Millis retry = std::chrono::milliseconds(2000);
};

// A separate listener for /_sluice/health, /_sluice/ready and /_sluice/metrics: when set,
// they answer there only (404 on the public listeners), and it serves nothing else.
struct AdminConfig {
    ListenAddress listen;
};

struct Config {
    std::string source;  // file the config came from ("<string>" for tests)
    std::vector<ListenAddress> listen{{"127.0.0.1", 8080}};
    std::optional<AdminConfig> admin;  // unset: the admin endpoints answer on `listen`
    unsigned workers = 1;  // "auto" resolves to the number of cores at load time
    // Let other processes listen on the same addresses (SO_REUSEPORT across processes,
    // for running several sluice processes on one port). Off: the port must be free.
    bool share_listen_port = false;
    BrokerConfig broker;
    std::optional<PublishConfig> publish;
    Limits limits;
    Defaults defaults;
    Millis drain_timeout = std::chrono::seconds(10);
    std::string access_log = "stdout";  // stdout | stderr | off | file path
    std::string log_level = "info";     // debug | info | warn | error
    std::vector<Route> routes;
    std::map<std::string, Upstream> upstreams;
};

using ConfigPtr = std::shared_ptr<const Config>;

// One problem found while loading: printed as "file:line:col: message" (1-based).
struct ConfigError {
    std::string file;
    int line = 0;
    int column = 0;
    std::string message;
    std::string to_string() const;
};

struct LoadResult {
    ConfigPtr config;                 // set when errors is empty
    std::vector<ConfigError> errors;  // every error found, in file order
};

// Loads and validates a YAML file. Never throws.
LoadResult load_config_file(const std::string& path);
// Same for text already in memory; `name` is used as the file in error messages.
LoadResult load_config_string(const std::string& yaml, const std::string& name);

}  // namespace sluice::config
