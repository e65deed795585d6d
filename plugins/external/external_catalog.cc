#include "plugins/external/external_catalog.h"

#include <algorithm>
#include <filesystem>

#include "gateway/core/ascii.h"
#include "plugins/external/external_filter.h"
#include "plugins/external/yaml_json.h"

namespace sluice::plugins::external {
namespace {

// What a parsed item keeps: the loaded file and the options as JSON text.
struct ExternalOptions {
    std::shared_ptr<const LoadedPlugin> lib;
    std::string json;
};

// A name that is a file name and nothing else: no '/', no "..".
bool is_plain_name(std::string_view name) {
    return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
        return ascii_is_alnum(c) || c == '_' || c == '-';
    });
}

class DirCatalog final : public config::PluginCatalog {
  public:
    DirCatalog(const config::PluginCatalog& builtins, std::string dir)
        : builtins_(builtins), dir_(std::move(dir)) {}

    bool knows(std::string_view name) const override {
        if (builtins_.knows(name)) return true;
        std::error_code ec;
        return is_plain_name(name) && std::filesystem::is_regular_file(file_of(name), ec);
    }
    std::string names() const override { return builtins_.names(); }
    // Only built-ins stand in for publish.token (jwt, api_key).
    bool authenticates(std::string_view name) const override { return builtins_.authenticates(name); }
    bool external(std::string_view name) const override { return !builtins_.knows(name); }
    std::string unknown_hint(std::string_view name) const override {
        std::string hint = "(built in: " + builtins_.names();
        if (is_plain_name(name)) hint += "; no file " + file_of(name);
        return hint + ")";
    }

    std::shared_ptr<const void> parse(std::string_view name, config::MapReader& r,
                                      const config::PluginSite& site) const override {
        if (builtins_.knows(name)) return builtins_.parse(name, r, site);
        std::string error;
        auto lib = load_plugin(file_of(name), error);
        if (!lib) {
            r.diag().error(r.mark(), r.where() + ": " + error);
            return nullptr;
        }
        nlohmann::json options = nlohmann::json::object();
        for (const auto& field : r.all()) options[field.key] = yaml_to_json(field.value.node);
        auto parsed = std::make_shared<ExternalOptions>(ExternalOptions{lib, options.dump()});
        // Created once to check the options, then destroyed: the Runtime builds its own.
        if (!Instance::create(lib, std::string(name), parsed->json, error)) {
            r.diag().error(r.mark(), r.where() + ": " + error);
            return nullptr;
        }
        return parsed;
    }

  private:
    std::string file_of(std::string_view name) const {
        return (std::filesystem::path(dir_) / (std::string(name) + ".so")).string();
    }

    const config::PluginCatalog& builtins_;
    std::string dir_;
};

}  // namespace

std::unique_ptr<config::PluginCatalog> catalog_with_dir(const config::PluginCatalog& builtins,
                                                        std::string dir) {
    return std::make_unique<DirCatalog>(builtins, std::move(dir));
}

std::shared_ptr<pipeline::Filter> build_filter(const router::PluginUse& use, const BuildContext& ctx,
                                               std::string& error) {
    const auto* o = static_cast<const ExternalOptions*>(use.options.get());
    std::unique_ptr<Instance> inst = Instance::create(o->lib, use.name, o->json, error);
    if (!inst) return nullptr;
    return std::make_shared<ExternalFilter>(std::move(inst), ctx);
}

}  // namespace sluice::plugins::external
