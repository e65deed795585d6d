// One instance of a third-party plugin: the host table it was given (host.cc) and what
// its create() returned; destroy() runs when the instance goes, then the file may be
// unloaded (the LoadedPlugin is held until after destroy).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "plugins/external/loaded_plugin.h"

namespace sluice::plugins::external {

class Instance {
  public:
    // nullptr + the plugin's own message when create() refuses the options.
    static std::unique_ptr<Instance> create(std::shared_ptr<const LoadedPlugin> lib,
                                            const std::string& name, const std::string& json,
                                            std::string& error);
    ~Instance();
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    const sluice_plugin& desc() const { return *lib_->desc; }
    void* get() const { return instance_; }
    const sluice_host* host() const { return &host_; }
    const std::string& name() const { return name_; }

    // Used by the host callbacks (host.cc).
    static const Instance& of(const sluice_host* host);
    mutable std::atomic<bool> warned_counters{false};  // one warning for dropped counts

  private:
    Instance(std::shared_ptr<const LoadedPlugin> lib, std::string name);

    std::shared_ptr<const LoadedPlugin> lib_;  // first: unloaded last
    std::string name_;                          // the name in the config (the file's)
    sluice_host host_{};
    void* instance_ = nullptr;
};

}  // namespace sluice::plugins::external
