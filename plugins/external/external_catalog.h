// Third-party plugins in the config: while a config that sets plugins_dir loads, the
// catalog the loader asks is this one. A plugins: item whose name is not built in is
// <plugins_dir>/<name>.so: the file is loaded and checked (loaded_plugin.h), its options
// are handed to the plugin's create() as JSON and the instance destroyed at once, so that
// `sluice --check` reports a bad file or bad options at the item's FILE:LINE:COL. The
// Runtime's build (registry.cc) then creates the instance its filter keeps.
#pragma once

#include <memory>
#include <string>

#include "gateway/config/plugin_catalog.h"
#include "plugins/registry.h"

namespace sluice::plugins::external {

std::unique_ptr<config::PluginCatalog> catalog_with_dir(const config::PluginCatalog& builtins,
                                                        std::string dir);

// The filter for a use the catalog above parsed (router::PluginUse::external).
std::shared_ptr<pipeline::Filter> build_filter(const router::PluginUse& use, const BuildContext& ctx,
                                               std::string& error);

}  // namespace sluice::plugins::external
