// The section loaders behind load_config_string(): each reads one part of the YAML into
// the typed Config (into the option types of the module that owns them) and reports every problem to Diagnostics, leaving defaults in place
// for values it could not read. Internal to gateway/config/.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/config/plugin_catalog.h"
#include "gateway/config/yaml_reader.h"

namespace sluice::config {

// listen_tls_loader.cc: a listener's `tls:` map (cert/key, or a certificates list),
// with every certificate loaded through tls/ so a bad file is an error here.
void load_listen_tls(const Value& v, Diagnostics& diag, tls::ContextOptions& out);

// sections_loader.cc
void load_listen(const Value& v, Diagnostics& diag, std::vector<ListenAddress>& out);
void load_workers(const Value& v, Diagnostics& diag, unsigned& out);
// `admin: {listen: ADDRESS}`. Must run after `listen` is loaded: an admin address that
// the public listeners also bind is an error.
void load_admin(const Value& v, Diagnostics& diag, const std::vector<ListenAddress>& listen,
                std::optional<AdminConfig>& out);
void load_publish(const Value& v, Diagnostics& diag, const PluginCatalog* plugins,
                  const std::map<std::string, proxy::UpstreamOptions>& upstreams,
                  PublishConfig& out);
void load_limits(const Value& v, Diagnostics& diag, Limits& out);

// upstream_tls_loader.cc: an upstream's tls, ca_file, server_name, verify, client_cert and
// client_key keys (read from the upstream's map `r`); builds up.tls, files read and checked.
void load_upstream_tls(MapReader& r, proxy::UpstreamOptions& up);

// upstreams_loader.cc
void load_upstreams(const Value& v, Diagnostics& diag,
                    std::map<std::string, proxy::UpstreamOptions>& out);

// broker_loader.cc. Returns false when `type` was given but unreadable (out.type is
// then a guess, so checks that depend on it should be skipped).
bool load_broker(const Value& v, Diagnostics& diag, broker::BrokerOptions& out);

// stream_options_loader.cc: options shared by `defaults` and sse routes. Fields not
// given keep the value `out` had (the defaults), so partial maps work.
void load_heartbeat(const Value& v, Diagnostics& diag, sse::HeartbeatOptions& out);
void load_history(const Value& v, Diagnostics& diag, history::HistoryLimits& out);
void load_defaults(const Value& v, Diagnostics& diag, Defaults& out);

// routes_loader.cc: `defaults` must be loaded first (routes start from it), and
// `upstreams` too (proxy routes must name one).
void load_routes(const Value& v, Diagnostics& diag, const Defaults& defaults,
                 const std::map<std::string, proxy::UpstreamOptions>& upstreams,
                 const PluginCatalog* plugins, std::vector<router::Route>& out);

// plugins_loader.cc: a `plugins:` list; each item's options are read by the catalog.
void load_plugins(const Value& v, Diagnostics& diag, const PluginCatalog* catalog,
                  const PluginSite& site, std::vector<router::PluginUse>& out);

}  // namespace sluice::config
