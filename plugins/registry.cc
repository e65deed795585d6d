#include "plugins/registry.h"

#include <algorithm>

#include "plugins/api_key/api_key.h"
#include "plugins/cors/cors.h"
#include "plugins/external/external_catalog.h"
#include "plugins/forward_auth/forward_auth.h"
#include "plugins/headers/headers.h"
#include "plugins/jwt/jwt.h"
#include "plugins/rate_limit/rate_limit.h"

namespace sluice::plugins {

void Registry::add(PluginDef def) { defs_.push_back(std::move(def)); }

const PluginDef* Registry::find(std::string_view name) const {
    for (const PluginDef& d : defs_)
        if (d.name == name) return &d;
    return nullptr;
}

bool Registry::authenticates(std::string_view name) const {
    const PluginDef* def = find(name);
    return def && def->authenticates;
}

std::string Registry::names() const {
    std::vector<std::string> sorted;
    for (const PluginDef& d : defs_) sorted.push_back(d.name);
    std::sort(sorted.begin(), sorted.end());
    std::string out;
    for (size_t i = 0; i < sorted.size(); ++i) {
        if (i > 0) out += i + 1 == sorted.size() ? " or " : ", ";
        out += sorted[i];
    }
    return out.empty() ? "none" : out;
}

std::shared_ptr<const void> Registry::parse(std::string_view name, config::MapReader& options,
                                            const config::PluginSite& site) const {
    const PluginDef* def = find(name);
    return def ? def->parse(options, site) : nullptr;
}

std::unique_ptr<config::PluginCatalog> Registry::with_plugins_dir(const std::string& dir) const {
    return external::catalog_with_dir(*this, dir);
}

bool Registry::build_chain(const std::vector<router::PluginUse>& uses, const BuildContext& ctx,
                           pipeline::FilterChain& chain, std::string& error) const {
    for (const router::PluginUse& use : uses) {
        if (use.external) {
            std::shared_ptr<pipeline::Filter> filter = external::build_filter(use, ctx, error);
            if (!filter) {
                error = use.name + " (line " + std::to_string(use.line) + "): " + error;
                return false;
            }
            chain.add(std::move(filter));
            continue;
        }
        const PluginDef* def = find(use.name);
        if (!def) {
            error = "unknown plugin '" + use.name + "'";
            return false;
        }
        std::shared_ptr<pipeline::Filter> filter = def->build(use.options.get(), ctx, error);
        if (!filter) {
            error = use.name + " (line " + std::to_string(use.line) + "): " + error;
            return false;
        }
        chain.add(std::move(filter));
    }
    return true;
}

const Registry& builtin_registry() {
    static const Registry registry = [] {
        Registry r;
        // One line per built-in plugin (plugins/<name>/<name>.h declares its plugin()).
        r.add(cors::plugin());
        r.add(headers::plugin());
        r.add(rate_limit::plugin());
        r.add(jwt::plugin());
        r.add(api_key::plugin());
        r.add(forward_auth::plugin());
        return r;
    }();
    return registry;
}

}  // namespace sluice::plugins
