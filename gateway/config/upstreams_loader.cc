// The `upstreams` section: named server groups for proxy routes, with their timeouts,
// connection pooling, passive health (max_fails, fail_timeout) and optional active
// health checks, and TLS to the servers (upstream_tls_loader.cc).
#include "gateway/config/address.h"
#include "gateway/config/loaders.h"

namespace sluice::config {
namespace {

constexpr const char* kNameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789_.-";

// A request path sluice can put on a request line as it is.
bool valid_check_path(const std::string& p) {
    if (p.empty() || p[0] != '/') return false;
    for (char c : p) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '#') return false;
    }
    return true;
}

void load_servers(MapReader& r, proxy::UpstreamOptions& up) {
    Diagnostics& diag = r.diag();
    if (!r.require("servers")) return;
    auto servers = r.find("servers");
    for (const auto& item : read_list(*servers, "servers like [127.0.0.1:3000]", diag)) {
        auto s = read_string(item, diag);
        if (!s) continue;
        if (std::string err = check_server_address(*s); !err.empty()) {
            diag.error(item.mark, item.path + ": " + err);
            continue;
        }
        up.servers.push_back(*s);
    }
    if (servers->node.IsSequence() && servers->node.size() == 0)
        diag.error(servers->mark, servers->path + ": must list at least one server");
}

void load_health_check(const Value& v, Diagnostics& diag, proxy::HealthCheckOptions& out) {
    MapReader r(v, diag);
    if (auto path = r.find("path")) {
        if (auto s = read_string(*path, diag)) {
            if (!valid_check_path(*s)) {
                diag.error(path->mark, path->path +
                                           ": must be a path starting with / without "
                                           "spaces, like /health, got '" +
                                           *s + "'");
            } else {
                out.path = *s;
            }
        }
    }
    r.get_duration("interval", out.interval, Millis(100));
    r.get_duration("timeout", out.timeout, Millis(1));
    r.finish();
}

void load_upstream(const Value& v, Diagnostics& diag, proxy::UpstreamOptions& up) {
    MapReader r(v, diag);
    load_servers(r, up);
    r.get_duration("connect_timeout", up.connect_timeout, Millis(1));
    r.get_duration("read_timeout", up.read_timeout, Millis(1));
    r.get_duration("idle_timeout", up.idle_timeout, Millis(1));
    r.get_count("max_idle", up.max_idle, 0, 100000);
    r.get_count("max_fails", up.max_fails, 0, 1000000);
    r.get_duration("fail_timeout", up.fail_timeout, Millis(1));
    if (auto hc = r.find("health_check")) {
        proxy::HealthCheckOptions check;
        load_health_check(*hc, diag, check);
        up.health_check = std::move(check);
    }
    load_upstream_tls(r, up);
    r.finish();
}

}  // namespace

void load_upstreams(const Value& v, Diagnostics& diag,
                    std::map<std::string, proxy::UpstreamOptions>& out) {
    MapReader all(v, diag);
    for (auto& field : all.all()) {
        if (field.key.empty() || field.key.find_first_not_of(kNameChars) != std::string::npos) {
            diag.error(field.key_mark,
                       "upstream name '" + field.key + "' may only use letters, digits and _ . -");
        }
        // Record the name even when its body is bad, so routes naming it are not also
        // reported as pointing at an unknown upstream.
        load_upstream(field.value, diag, out[field.key]);
    }
}

}  // namespace sluice::config
