// `plugins:` lists, on routes and on `publish`: each item is a map with one key, the
// plugin's name, whose value is that plugin's options (a map; empty or absent = {}).
// The catalog knows the names and reads the options; this file only checks the shape.
#include "gateway/config/loaders.h"
#include "gateway/config/plugin_catalog.h"

namespace sluice::config {

void load_plugins(const Value& v, Diagnostics& diag, const PluginCatalog* catalog,
                  const PluginSite& site, std::vector<router::PluginUse>& out) {
    for (const Value& item : read_list(v, "plugins", diag)) {
        if (!item.node.IsMap() || item.node.size() != 1) {
            std::string got = item.node.IsMap() ? "a map with " + std::to_string(item.node.size()) +
                                                      " keys (one plugin per list item)"
                                                : describe(item.node);
            diag.error(item.mark, item.path +
                                      ": a plugin is a map with one key, its name, like "
                                      "'- cors: {origins: [\"*\"]}'; got " + got);
            continue;
        }
        // Copies: yaml-cpp's iterator hands out a temporary pair.
        auto entry = item.node.begin();
        YAML::Node key = entry->first;
        YAML::Node options = entry->second;
        std::string name = key.IsScalar() ? key.Scalar() : std::string();
        if (!catalog || !catalog->knows(name)) {
            diag.error(key.Mark(), item.path + ": unknown plugin '" + name + "'" +
                                       (catalog ? " " + catalog->unknown_hint(name) : ""));
            continue;
        }
        std::string where = item.path + "." + name;
        // `- cors:` (nothing) means default options: read it as an empty map.
        Value opts = options.IsNull() ? Value{YAML::Node(YAML::NodeType::Map), key.Mark(), where}
                                      : Value{options, options.Mark(), where};
        MapReader r(opts, diag);
        if (!r.is_map()) continue;  // reported by the reader
        std::shared_ptr<const void> parsed = catalog->parse(name, r, site);
        r.finish();
        if (parsed)
            out.push_back(router::PluginUse{name, std::move(parsed), item.mark.line + 1,
                                            catalog->external(name)});
    }
}

}  // namespace sluice::config
