// Top-level sections that stand alone: listen (its tls map: listen_tls_loader.cc),
// workers, publish and limits. The broker,
// upstreams, routes and the stream options routes share with `defaults` live elsewhere.
#include <algorithm>
#include <cctype>
#include <thread>

#include "gateway/config/address.h"
#include "gateway/config/loaders.h"
#include "gateway/config/templates.h"

namespace sluice::config {
namespace {

constexpr uint64_t kMaxWorkers = 1024;

// One `listen:` item: "host:port", or a map {address, tls, http2}.
void load_one_listen(const Value& v, Diagnostics& diag, std::vector<ListenAddress>& out) {
    ListenAddress addr;
    std::optional<Value> address = v;
    if (v.node.IsMap()) {
        MapReader r(v, diag);
        address = r.require("address") ? r.find("address") : std::nullopt;
        if (auto t = r.find("tls")) {
            tls::ContextOptions options;
            load_listen_tls(*t, diag, options);
            addr.tls = std::move(options);
        }
        // HTTP/2 is offered by default over TLS (browsers use it only there).
        addr.http2 = addr.tls.has_value();
        r.get_bool("http2", addr.http2);
        if (addr.tls) {
            addr.tls->alpn = addr.http2 ? std::vector<std::string>{tls::kAlpnHttp2, tls::kAlpnHttp11}
                                        : std::vector<std::string>{tls::kAlpnHttp11};
        }
        r.finish();
        if (!address) return;
    }
    auto text = read_string(*address, diag);
    if (!text) return;
    if (std::string err = parse_listen_address(*text, addr); !err.empty()) {
        diag.error(address->mark, address->path + ": " + err);
        return;
    }
    bool dup = std::any_of(out.begin(), out.end(), [&](const ListenAddress& a) {
        return a.host == addr.host && a.port == addr.port && a.port != 0;
    });
    if (dup) {
        diag.error(address->mark, address->path + ": address '" + *text + "' is listed twice");
        return;
    }
    out.push_back(std::move(addr));
}

// Two listeners that the kernel would not let both bind (SO_REUSEPORT aside, which would
// silently split the connections between them): same port, and the same host or a
// wildcard of the same family. Port 0 picks a free port, so never clashes.
bool addresses_clash(const ListenAddress& a, const ListenAddress& b) {
    if (a.port == 0 || a.port != b.port) return false;
    if (a.host == b.host) return true;
    bool a_v6 = a.host.find(':') != std::string::npos;
    bool b_v6 = b.host.find(':') != std::string::npos;
    if (a_v6 != b_v6) return false;  // IPv6 sockets are bound V6ONLY
    const char* any = a_v6 ? "::" : "0.0.0.0";
    return a.host == any || b.host == any;
}

}  // namespace

void load_admin(const Value& v, Diagnostics& diag, const std::vector<ListenAddress>& listen,
                std::optional<AdminConfig>& out) {
    MapReader r(v, diag);
    if (r.require("listen")) {
        auto lv = r.find("listen");
        if (lv->node.IsSequence()) {
            diag.error(lv->mark, lv->path + ": takes one address, like 127.0.0.1:9090");
        } else if (auto text = read_string(*lv, diag)) {
            ListenAddress addr;
            if (std::string err = parse_listen_address(*text, addr); !err.empty()) {
                diag.error(lv->mark, lv->path + ": " + err);
            } else if (auto clash = std::find_if(listen.begin(), listen.end(),
                                                 [&](const ListenAddress& a) {
                                                     return addresses_clash(a, addr);
                                                 });
                       clash != listen.end()) {
                std::string host = clash->host.find(':') != std::string::npos
                                       ? "[" + clash->host + "]"
                                       : clash->host;
                diag.error(lv->mark, lv->path + ": '" + *text + "' overlaps the public listen address " +
                                         host + ":" + std::to_string(clash->port) +
                                         "; the admin listener needs an address of its own");
            } else {
                out = AdminConfig{addr};
            }
        }
    }
    r.finish();
}

void load_listen(const Value& v, Diagnostics& diag, std::vector<ListenAddress>& out) {
    std::vector<ListenAddress> addrs;
    if (v.node.IsSequence()) {
        auto items = read_list(v, "addresses", diag);
        if (items.empty()) {
            diag.error(v.mark, v.path + ": must list at least one address");
            return;
        }
        for (const auto& item : items) load_one_listen(item, diag, addrs);
    } else {
        load_one_listen(v, diag, addrs);
    }
    if (!addrs.empty()) out = std::move(addrs);
}

void load_workers(const Value& v, Diagnostics& diag, unsigned& out) {
    if (v.node.IsScalar() && v.node.Scalar() == "auto") {
        // hardware_concurrency() may return 0 when it cannot tell.
        unsigned cores = std::thread::hardware_concurrency();
        out = std::clamp<unsigned>(cores, 1, kMaxWorkers);
        return;
    }
    if (v.node.IsScalar() && !v.node.Scalar().empty() &&
        !std::isdigit(static_cast<unsigned char>(v.node.Scalar()[0]))) {
        diag.error(v.mark, v.path + ": expected a number or \"auto\", got " + describe(v.node));
        return;
    }
    auto n = read_count(v, diag);
    if (!n) return;
    if (*n < 1 || *n > kMaxWorkers) {
        diag.error(v.mark, v.path + ": must be between 1 and " + std::to_string(kMaxWorkers) +
                               " (or \"auto\"), got " + std::to_string(*n));
        return;
    }
    out = static_cast<unsigned>(*n);
}

void load_publish(const Value& v, Diagnostics& diag, const PluginCatalog* plugins,
                  const std::map<std::string, proxy::UpstreamOptions>& upstreams,
                  PublishConfig& out) {
    MapReader r(v, diag);
    if (auto path = r.find("path")) {
        if (auto s = read_string(*path, diag)) {
            std::vector<std::string> captures;
            std::string err = check_path_template(*s, captures);
            if (err.empty() && captures != std::vector<std::string>{"channel"})
                err = "must contain {channel} as its only capture, like " +
                      std::string(admin::kDefaultPublishPath);
            if (!err.empty()) {
                diag.error(path->mark, path->path + ": " + err);
            } else {
                out.path = *s;
            }
        }
    }
    if (auto p = r.find("plugins")) load_plugins(*p, diag, plugins, PluginSite{nullptr, &upstreams}, out.plugins);
    // Without a token, a plugin that authenticates (jwt, api_key) must guard the endpoint.
    bool guarded = plugins && std::any_of(out.plugins.begin(), out.plugins.end(),
                                          [&](const router::PluginUse& u) {
                                              return plugins->authenticates(u.name);
                                          });
    if (guarded ? r.has("token") : r.require("token")) {
        std::string token;
        if (r.get_string("token", token)) {
            // Compared with what follows "Bearer " in a header, which can never hold a
            // control character and loses leading and trailing blanks: such a token could
            // never match (or, blank, would read as "no token"). The value is a secret:
            // the message never repeats it.
            bool visible = std::all_of(token.begin(), token.end(),
                                       [](char c) { return c > 0x20 && c < 0x7f; });
            if (!token.empty() && !visible) {
                diag.error(r.find("token")->mark,
                           r.path("token") +
                               ": must be visible ASCII characters only (no spaces, tabs, "
                               "control characters or non-ASCII bytes)");
            } else {
                out.token = std::move(token);
            }
        }
    }
    r.finish();
}

void load_limits(const Value& v, Diagnostics& diag, Limits& out) {
    MapReader r(v, diag);
    r.get_count("max_connections", out.max_connections, 1, UINT64_MAX);
    r.get_count("max_connections_per_ip", out.max_connections_per_ip, 0, UINT64_MAX);
    // Below these a plain browser request head or URL would not fit.
    r.get_size("max_header_size", out.max_header_size, 1024);
    r.get_size("max_url_length", out.max_url_length, 256);
    r.get_duration("header_timeout", out.header_timeout, Millis(1));
    r.get_duration("idle_timeout", out.idle_timeout, Millis(1));
    r.get_size("max_event_size", out.max_event_size);
    r.get_size("max_body_size", out.max_body_size);
    r.get_size("client_buffer", out.client_buffer);
    r.get_count("max_channels", out.max_channels, 1, UINT64_MAX);
    // SETTINGS_MAX_CONCURRENT_STREAMS is a 31-bit value; 1 still lets a client work.
    r.get_count("http2_max_streams", out.http2_max_streams, 1, 0x7fffffff);
    if (r.get_size("max_history_bytes", out.max_history_bytes) &&
        out.max_history_bytes < out.max_event_size) {
        // The budget must hold at least the largest event a publish may store.
        // Points at the budget, or at max_event_size when only that was raised.
        auto at = r.find("max_history_bytes");
        if (!at) at = r.find("max_event_size");
        diag.error(at ? at->mark : YAML::Mark(),
                   "limits.max_history_bytes: must be at least limits.max_event_size (" +
                       std::to_string(out.max_event_size) + "), got " +
                       std::to_string(out.max_history_bytes));
    }
    r.finish();
}

}  // namespace sluice::config
