// The built-in plugins by name. Each plugin folder (plugins/<name>/) provides one
// PluginDef: how to read its YAML options (at config load, so `sluice --check` reports
// a bad option with file:line:col) and how to build its pipeline::Filter from them (when
// a Runtime is built: at start-up and on each SIGHUP reload).
//
//   config load:   plugins: [- cors: {...}]  --parse-->  Options (opaque in router::PluginUse)
//   runtime build: PluginUse  --build-->  std::shared_ptr<pipeline::Filter>  --> FilterChain
//
// Registration is explicit: builtin_registry() (registry.cc) lists every built-in.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/admin/plugin_decisions.h"
#include "gateway/config/plugin_catalog.h"
#include "gateway/config/yaml_reader.h"
#include "gateway/pipeline/filter.h"

namespace sluice::router {
struct CompiledRoute;
}

namespace sluice::plugins {

// The channel a request asks for, as its handler resolves it (app/runtime.cc builds this
// with the handlers' own code): an sse or poll route's channel template filled from the
// request's path, the publish endpoint's {channel}. nullopt: the path names no valid
// channel (the handler will answer 400).
using ChannelOf = std::function<std::optional<std::string>(const http::RequestHead&)>;

// What a filter is built for.
struct BuildContext {
    std::string route_label;  // the route's label (path template or "prefix*"), or the
                              // publish path: for logs and metrics
    bool publish = false;     // the publish endpoint's chain
    // The route (its templates: a filter may name the channel a path asks for); nullptr
    // on publish. Lives as long as the filter (both belong to one Runtime).
    const router::CompiledRoute* route = nullptr;
    ChannelOf channel_of = nullptr;  // empty: the route serves no channel (proxy, static)
    // Where authenticating plugins count their decisions; nullptr: not counted.
    admin::PluginDecisions* decisions = nullptr;
};

struct PluginDef {
    std::string name;
    // The plugin decides who may use the route (jwt, api_key): listed under
    // publish.plugins, it can stand in for publish.token.
    bool authenticates = false;
    // Reads the options map; reports every problem through options.diag() at the key or
    // value (options.find(...)->mark, options.key_mark(...)); nullptr when invalid.
    std::function<std::shared_ptr<const void>(config::MapReader& options,
                                              const config::PluginSite& site)>
        parse;
    // Builds the filter from what parse returned. nullptr + `error` only for what parse
    // could not know (it should check files and values itself).
    std::function<std::shared_ptr<pipeline::Filter>(const void* options, const BuildContext& ctx,
                                                    std::string& error)>
        build;
};

// A PluginDef from typed functions: parse returns nullopt when invalid.
template <typename Options>
PluginDef make_plugin(
    std::string name,
    std::function<std::optional<Options>(config::MapReader&, const config::PluginSite&)> parse,
    std::function<std::shared_ptr<pipeline::Filter>(const Options&, const BuildContext&,
                                                    std::string&)>
        build) {
    PluginDef def;
    def.name = std::move(name);
    def.parse = [parse = std::move(parse)](config::MapReader& r, const config::PluginSite& site)
        -> std::shared_ptr<const void> {
        std::optional<Options> o = parse(r, site);
        if (!o) return nullptr;
        return std::make_shared<const Options>(std::move(*o));
    };
    def.build = [build = std::move(build)](const void* o, const BuildContext& ctx,
                                           std::string& error) {
        return build(*static_cast<const Options*>(o), ctx, error);
    };
    return def;
}

class Registry final : public config::PluginCatalog {
  public:
    void add(PluginDef def);
    const PluginDef* find(std::string_view name) const;

    bool knows(std::string_view name) const override { return find(name) != nullptr; }
    bool authenticates(std::string_view name) const override;
    std::string names() const override;
    std::shared_ptr<const void> parse(std::string_view name, config::MapReader& options,
                                      const config::PluginSite& site) const override;
    // Third-party plugins: <dir>/<name>.so (plugins/external/).
    std::unique_ptr<config::PluginCatalog> with_plugins_dir(const std::string& dir) const override;

    // Builds the chain for one plugins list, in order (third-party plugins included).
    // False + error when a plugin cannot be built (or a use names a plugin this registry
    // does not have).
    bool build_chain(const std::vector<router::PluginUse>& uses, const BuildContext& ctx,
                     pipeline::FilterChain& chain, std::string& error) const;

  private:
    std::vector<PluginDef> defs_;
};

// Every built-in plugin. Built on first use, never changed afterwards (thread-safe).
const Registry& builtin_registry();

}  // namespace sluice::plugins
