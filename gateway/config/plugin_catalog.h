// The plugins a config may name, as the config loader sees them: a name and a reader for
// its options. config/ knows no plugin itself; plugins/registry.h implements this
// interface and the caller of load_config_file() hands it over (app/cli.cc, the SIGHUP
// reload). Without one, any `plugins:` item is reported as an unknown plugin.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/router/route.h"

namespace sluice::config {

class MapReader;

// Where a plugins list sits: a route (its kind and match are loaded), or the publish
// endpoint (route == nullptr); and the config's `upstreams` (loaded before any plugins
// list, so a plugin that calls one, forward_auth, can check the name).
struct PluginSite {
    const router::Route* route = nullptr;
    const std::map<std::string, proxy::UpstreamOptions>* upstreams = nullptr;
};

class PluginCatalog {
  public:
    virtual ~PluginCatalog() = default;
    virtual bool knows(std::string_view name) const = 0;
    // Does the plugin decide who may send a request (jwt, api_key)? On publish, such a
    // plugin makes publish.token optional.
    virtual bool authenticates(std::string_view /*name*/) const { return false; }
    // "cors, headers or rate_limit": for messages.
    virtual std::string names() const = 0;
    // Reads the options map of the known plugin `name`, reporting each problem through
    // options.diag() at the offending key or value. nullptr when the options are invalid
    // (at least one error was reported). The loader calls options.finish() afterwards, so
    // a key the parser never asked about is reported as unknown.
    virtual std::shared_ptr<const void> parse(std::string_view name, MapReader& options,
                                              const PluginSite& site) const = 0;

    // Third-party plugins. A catalog that also knows the plugins in `dir` (the config's
    // plugins_dir), alive while the config loads; nullptr: this catalog has none.
    virtual std::unique_ptr<PluginCatalog> with_plugins_dir(const std::string& /*dir*/) const {
        return nullptr;
    }
    // Whether the known plugin `name` is a third-party one (router::PluginUse::external).
    virtual bool external(std::string_view /*name*/) const { return false; }
    // What the error about an unknown plugin `name` adds: "(known: cors, headers ...)".
    virtual std::string unknown_hint(std::string_view /*name*/) const {
        return "(known: " + names() + ")";
    }
};

}  // namespace sluice::config
