// One third-party plugin file, loaded (dlopen RTLD_NOW | RTLD_LOCAL) and checked: it
// exports sluice_plugin_entry, its descriptor is of this sluice's ABI version, and has
// what that version requires. Shared by the config that named it and every filter built
// from it: the file stays loaded (dlclose) until the last of them is gone.
#pragma once

#include <memory>
#include <string>

#include "sluice/plugin.h"

namespace sluice::plugins::external {

struct LoadedPlugin {
    LoadedPlugin(void* h, const sluice_plugin* d, std::string p)
        : handle(h), desc(d), path(std::move(p)) {}
    ~LoadedPlugin();
    LoadedPlugin(const LoadedPlugin&) = delete;
    LoadedPlugin& operator=(const LoadedPlugin&) = delete;

    void* handle;
    const sluice_plugin* desc;
    std::string path;
};

// nullptr + a message naming the file (and both ABI versions, when they differ).
std::shared_ptr<const LoadedPlugin> load_plugin(const std::string& path, std::string& error);

}  // namespace sluice::plugins::external
