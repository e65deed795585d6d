// The typed, validated configuration. Built once from YAML by load_config() and then
// shared read-only (std::shared_ptr<const Config>) by every worker; hot paths never
// look at YAML. docs/configuration.md describes every key.
//
// Each module owns the types of its own options (sse/route_options.h, proxy/options.h,
// files/static_options.h, broker/options.h, router/route.h, history's HistoryLimits);
// this file composes them with the process-wide settings that belong to no module.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/admin/paths.h"
#include "gateway/broker/options.h"
#include "gateway/core/log_level.h"
#include "gateway/history/channel_history.h"
#include "gateway/proxy/options.h"
#include "gateway/router/route.h"
#include "gateway/sse/heartbeat.h"
#include "gateway/tls/options.h"

namespace sluice::config {

using Millis = std::chrono::milliseconds;

struct ListenAddress {
    std::string host;   // numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "0.0.0.0")
    uint16_t port = 0;  // 0 = pick a free port (tests)
    // TLS to clients (`tls:`): the certificates, checked at load time, and the ALPN list
    // (h2 and http/1.1 with http2, else http/1.1). Unset: plain TCP.
    std::optional<tls::ContextOptions> tls;
    // HTTP/2 (`http2:`): over TLS by ALPN (default on with tls), else h2c with prior
    // knowledge (a connection that opens with the HTTP/2 preface; HTTP/1.1 otherwise).
    bool http2 = false;
};

struct PublishConfig {
    std::string path{admin::kDefaultPublishPath};  // must contain {channel}
    // Required, non-empty, unless `plugins` lists one that authenticates (jwt, api_key);
    // empty then means no token check.
    std::string token;
    std::vector<router::PluginUse> plugins;           // run after the token check
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
    // Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS);
    // a browser page's EventSources share one connection, so this bounds them per page.
    uint64_t http2_max_streams = 100;
};

// What sse routes start from (the `defaults` section); history also applies to channels
// no sse route names.
struct Defaults {
    sse::HeartbeatOptions heartbeat;
    history::HistoryLimits history;
    Millis retry = std::chrono::milliseconds(2000);
};

// A separate listener for /_sluice/health, /_sluice/ready and /_sluice/metrics: when set,
// they answer there only (404 on the public listeners), and it serves nothing else.
struct AdminConfig {
    ListenAddress listen;
};

struct Config {
    std::string source;  // file the config came from ("<string>" for tests)
    std::vector<ListenAddress> listen{{"127.0.0.1", 8080, std::nullopt, false}};
    std::optional<AdminConfig> admin;  // unset: the admin endpoints answer on `listen`
    unsigned workers = 1;  // "auto" resolves to the number of cores at load time
    // Let other processes listen on the same addresses (SO_REUSEPORT across processes,
    // for running several sluice processes on one port). Off: the port must be free.
    bool share_listen_port = false;
    // Each loop hands its turn's socket writes to the kernel in one io_uring submission
    // instead of one write per connection (loop/batch_sender.h). Read at start only.
    bool io_uring = false;
    broker::BrokerOptions broker;
    std::optional<PublishConfig> publish;
    Limits limits;
    Defaults defaults;
    Millis drain_timeout = std::chrono::seconds(10);
    // On drain, SSE streams close at random times spread over this window (0: all at
    // once), so their reconnects spread over the other instances.
    Millis drain_pace{0};
    std::string access_log = "stdout";  // stdout | stderr | off | file path
    log::Level log_level = log::Level::Info;
    std::vector<router::Route> routes;
    std::map<std::string, proxy::UpstreamOptions> upstreams;
    // Where third-party plugins are looked up: a plugins: item whose name is not built in
    // is <plugins_dir>/<name>.so. Empty: none.
    std::string plugins_dir;
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
    std::vector<ConfigError> warnings;  // accepted, but worth a look (expired certificate)
};

class PluginCatalog;  // config/plugin_catalog.h

// Loads and validates a YAML file. Never throws. `plugins` knows the plugin names a
// `plugins:` list may use and reads their options (plugins::builtin_registry()); without
// it every plugin is unknown.
LoadResult load_config_file(const std::string& path, const PluginCatalog* plugins = nullptr);
// Same for text already in memory; `name` is used as the file in error messages.
LoadResult load_config_string(const std::string& yaml, const std::string& name,
                              const PluginCatalog* plugins = nullptr);

}  // namespace sluice::config
