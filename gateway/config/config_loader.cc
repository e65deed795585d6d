// Entry points: read the file, parse it (parse_document turns syntax errors into
// ConfigErrors), walk the top-level keys through the section loaders, then run the checks
// that span sections.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <unistd.h>

#include "gateway/config/env_vars.h"
#include "gateway/config/loaders.h"
#include "gateway/config/yaml_document.h"

namespace sluice::config {
namespace {

// stdout, stderr, off, or a file sluice must be able to append to: checked here so that
// --check catches what would otherwise stop the start-up (or a reload) later.
void load_access_log(const Value& v, Diagnostics& diag, std::string& out) {
    auto s = read_string(v, diag);
    if (!s) return;
    if (*s == "stdout" || *s == "stderr" || *s == "off") {
        out = *s;
        return;
    }
    if (s->empty()) {
        diag.error(v.mark, v.path + ": must be stdout, stderr, off or a file path");
        return;
    }
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path path(*s);
    if (fs::exists(path, ec)) {
        if (fs::is_directory(path, ec)) {
            diag.error(v.mark, v.path + ": '" + *s + "' is a directory");
            return;
        }
        if (::access(s->c_str(), W_OK) != 0) {
            diag.error(v.mark, v.path + ": cannot write to '" + *s + "': " + std::strerror(errno));
            return;
        }
    } else {
        fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
        if (!fs::is_directory(dir, ec)) {
            diag.error(v.mark, v.path + ": cannot create '" + *s + "': folder '" + dir.string() +
                                   "' does not exist");
            return;
        }
        if (::access(dir.c_str(), W_OK) != 0) {
            diag.error(v.mark, v.path + ": cannot create '" + *s + "' in '" + dir.string() + "': " +
                                   std::strerror(errno));
            return;
        }
    }
    out = *s;
}

// A folder that exists: checked here so that --check says so, not the first plugin.
void load_plugins_dir(const Value& v, Diagnostics& diag, std::string& out) {
    auto s = read_string(v, diag);
    if (!s) return;
    std::error_code ec;
    if (s->empty() || !std::filesystem::is_directory(*s, ec)) {
        diag.error(v.mark, v.path + ": '" + *s + "' is not a folder");
        return;
    }
    out = *s;
}

void load_document(const YAML::Node& root, Diagnostics& diag, const PluginCatalog* plugins,
                   Config& c) {
    MapReader top(Value::of(root, ""), diag);
    if (!top.is_map()) return;

    if (auto v = top.find("listen")) load_listen(*v, diag, c.listen);
    if (auto v = top.find("workers")) load_workers(*v, diag, c.workers);
    if (auto v = top.find("admin")) load_admin(*v, diag, c.listen, c.admin);
    bool broker_ok = true;
    if (auto v = top.find("broker")) broker_ok = load_broker(*v, diag, c.broker);
    // Before publish and routes: their plugins: lists may name plugins found there.
    std::unique_ptr<PluginCatalog> with_dir;
    if (auto v = top.find("plugins_dir")) {
        load_plugins_dir(*v, diag, c.plugins_dir);
        if (!c.plugins_dir.empty() && plugins) {
            with_dir = plugins->with_plugins_dir(c.plugins_dir);
            if (with_dir) plugins = with_dir.get();
        }
    }
    // Before the plugins lists (publish, routes): a plugin may name an upstream.
    if (auto v = top.find("upstreams")) load_upstreams(*v, diag, c.upstreams);
    if (auto v = top.find("publish")) {
        PublishConfig publish;
        load_publish(*v, diag, plugins, c.upstreams, publish);
        c.publish = std::move(publish);
    }
    if (auto v = top.find("limits")) load_limits(*v, diag, c.limits);
    // Routes start from `defaults` and refer to `upstreams`, wherever those sit in the
    // file; errors are sorted into file order at the end.
    if (auto v = top.find("defaults")) load_defaults(*v, diag, c.defaults);
    if (auto v = top.find("routes")) load_routes(*v, diag, c.defaults, c.upstreams, plugins, c.routes);
    top.get_bool("share_listen_port", c.share_listen_port);
    top.get_bool("io_uring", c.io_uring);
    top.get_duration("drain_timeout", c.drain_timeout);
    if (top.get_duration("drain_pace", c.drain_pace) && top.has("drain_pace") &&
        c.drain_pace >= c.drain_timeout) {
        // Streams still open at drain_timeout are cut without their goodbye.
        diag.error(top.find("drain_pace")->mark,
                   "drain_pace: must be shorter than drain_timeout (" +
                       std::to_string(c.drain_timeout.count()) + "ms): streams not closed by then are cut");
    }
    if (auto v = top.find("access_log")) load_access_log(*v, diag, c.access_log);
    std::string level;
    if (top.get_choice("log_level", level, log::kLevelNames) && !level.empty())
        c.log_level = *log::parse_level(level);
    top.finish();

    // With no Redis, the HTTP publish endpoint is the only way events get in.
    if (broker_ok && c.broker.type == broker::BrokerType::Memory && !c.publish) {
        diag.error(top.key_mark("broker"),
                   "broker: the memory broker requires a 'publish' section (with no Redis, "
                   "workers publish over HTTP)");
    }
}

}  // namespace

std::string ConfigError::to_string() const {
    if (line <= 0) return file + ": " + message;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_config_string(const std::string& yaml, const std::string& name,
                              const PluginCatalog* plugins) {
    Diagnostics diag(name);
    std::shared_ptr<Config> config;
    try {
        config = std::make_shared<Config>();
        config->source = name;
        // ${NAME} references are expanded first; when one cannot be, the loaders would
        // only add noise about the unexpanded text, so they do not run.
        if (auto root = parse_document(yaml, diag); root && expand_env_in_tree(*root, process_env, diag))
            load_document(*root, diag, plugins, *config);
    } catch (const std::exception& e) {
        // Loaders do not throw; this is a last guard (yaml-cpp, bad_alloc) for the
        // promise that loading never throws.
        diag.error_without_position(std::string("cannot load config: ") + e.what());
    } catch (...) {
        diag.error_without_position("cannot load config: unknown error");
    }
    LoadResult result;
    result.errors = diag.take();
    result.warnings = diag.take_warnings();
    if (result.errors.empty()) result.config = std::move(config);
    return result;
}

LoadResult load_config_file(const std::string& path, const PluginCatalog* plugins) {
    LoadResult result;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        result.errors.push_back(ConfigError{path, 0, 0, "cannot read config: is a directory"});
        return result;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        result.errors.push_back(
            ConfigError{path, 0, 0, std::string("cannot read config: ") + std::strerror(errno)});
        return result;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        result.errors.push_back(ConfigError{path, 0, 0, "cannot read config: read failed"});
        return result;
    }
    return load_config_string(text.str(), path, plugins);
}

}  // namespace sluice::config
