#include "plugins/external/instance.h"

#include "plugins/external/host.h"

namespace sluice::plugins::external {

Instance::Instance(std::shared_ptr<const LoadedPlugin> lib, std::string name)
    : lib_(std::move(lib)), name_(std::move(name)) {
    fill_host_callbacks(host_);
    host_.host_private = this;
}

std::unique_ptr<Instance> Instance::create(std::shared_ptr<const LoadedPlugin> lib,
                                           const std::string& name, const std::string& json,
                                           std::string& error) {
    std::unique_ptr<Instance> inst(new Instance(std::move(lib), name));
    char message[1024] = "";
    inst->instance_ = inst->desc().create(json.c_str(), &inst->host_, message, sizeof message);
    if (!inst->instance_) {
        message[sizeof message - 1] = '\0';
        error = message[0] ? message : "the plugin refused its options (it gave no reason)";
        return nullptr;
    }
    return inst;
}

Instance::~Instance() {
    if (instance_) desc().destroy(instance_);
}

const Instance& Instance::of(const sluice_host* host) {
    return *static_cast<const Instance*>(host->host_private);
}

}  // namespace sluice::plugins::external
