// What proxy routes and upstreams are configured with (routes[].proxy and `upstreams`
// in the config; docs/proxy.md describes each key).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/sse/heartbeat.h"

namespace sluice::tls {
class ClientContext;  // gateway/tls/client_context.h
}

namespace sluice::proxy {

using Millis = std::chrono::milliseconds;

// How the Host header of a proxied request is set.
enum class HostMode {
    Pass,     // the client's Host, unchanged
    Rewrite,  // the chosen server's "host:port"
    Fixed,    // RouteOptions::host_value
};

struct RouteOptions {
    RouteOptions() = default;
    explicit RouteOptions(std::string name) : upstream(std::move(name)) {}

    std::string upstream;  // key into the config's upstreams
    HostMode host = HostMode::Pass;
    std::string host_value;  // for HostMode::Fixed
    // For text/event-stream responses: heartbeats injected between events while the
    // upstream is idle. Unset = none.
    std::optional<sse::HeartbeatOptions> heartbeat;
    // Per-route overrides of the upstream's timeouts.
    std::optional<Millis> connect_timeout;
    std::optional<Millis> read_timeout;
};

struct HealthCheckOptions {
    std::string path = "/";  // GET path; 2xx or 3xx = healthy
    Millis interval = std::chrono::seconds(5);
    Millis timeout = std::chrono::seconds(2);  // connect + answer
};

// `tls: true` on an upstream: every connection to its servers speaks TLS.
struct UpstreamTlsOptions {
    // CAs, verification on or off, client certificate: built (files read) by config/.
    std::shared_ptr<const tls::ClientContext> context;
    // SNI and the name the certificate must carry; "" = each server's own host.
    std::string server_name;
};

struct UpstreamOptions {
    std::vector<std::string> servers;  // "host:port"
    Millis connect_timeout = std::chrono::seconds(5);
    Millis read_timeout = std::chrono::seconds(60);  // longest wait for upstream bytes
    Millis idle_timeout = std::chrono::seconds(60);  // pooled keep-alive connections
    uint64_t max_idle = 32;  // idle connections kept per server per worker loop
    // Passive health: after max_fails failures in a row a server is skipped for
    // fail_timeout. max_fails 0 turns it off.
    uint64_t max_fails = 1;
    Millis fail_timeout = std::chrono::seconds(10);
    std::optional<HealthCheckOptions> health_check;  // active checks; unset = none
    std::optional<UpstreamTlsOptions> tls;           // unset = plain TCP
};

}  // namespace sluice::proxy
