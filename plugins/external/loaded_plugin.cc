#include "plugins/external/loaded_plugin.h"

#include <dlfcn.h>

#include <cstdint>

namespace sluice::plugins::external {

LoadedPlugin::~LoadedPlugin() { dlclose(handle); }

std::shared_ptr<const LoadedPlugin> load_plugin(const std::string& path, std::string& error) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = dlerror();
        error = "cannot load plugin '" + path + "': " + (why ? why : "unknown error");
        return nullptr;
    }
    auto refuse = [&](std::string why) -> std::shared_ptr<const LoadedPlugin> {
        dlclose(handle);
        error = "plugin '" + path + "' " + why;
        return nullptr;
    };
    void* sym = dlsym(handle, SLUICE_PLUGIN_ENTRY_SYMBOL);
    if (!sym) return refuse("is not a sluice plugin: it exports no " SLUICE_PLUGIN_ENTRY_SYMBOL " function");
    auto entry = reinterpret_cast<sluice_plugin_entry_fn>(reinterpret_cast<uintptr_t>(sym));
    const sluice_plugin* desc = entry();
    if (!desc) return refuse(SLUICE_PLUGIN_ENTRY_SYMBOL " returned no descriptor");
    // abi_version is the first field of every version's descriptor: read nothing else
    // before it matches.
    if (desc->abi_version != SLUICE_PLUGIN_ABI_VERSION)
        return refuse("was built for plugin ABI version " + std::to_string(desc->abi_version) +
                      "; this sluice loads version " + std::to_string(SLUICE_PLUGIN_ABI_VERSION) +
                      " only (rebuild it against this sluice's sluice/plugin.h)");
    if (!desc->create || !desc->destroy) return refuse("has no create or destroy function");
    if (desc->flags & ~uint32_t{SLUICE_PLUGIN_SUSPENDS})
        return refuse("sets flags this sluice does not know (" + std::to_string(desc->flags) + ")");
    return std::make_shared<const LoadedPlugin>(handle, desc, path);
}

}  // namespace sluice::plugins::external
