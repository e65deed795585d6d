#include "gateway/app/cli.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/version.h"
#include "gateway/app/server.h"
#include "gateway/core/log.h"
#include "plugins/registry.h"

namespace sluice::app {
namespace {

constexpr const char* kDefaultConfigPath = "/etc/sluice/sluice.yaml";

constexpr const char* kUsage =
    "usage: sluice [-c FILE]          run (FILE defaults to $SLUICE_CONFIG, else\n"
    "                                 /etc/sluice/sluice.yaml)\n"
    "       sluice --check -c FILE    validate FILE; errors as FILE:LINE:COL: message\n"
    "       sluice --version\n";

}  // namespace

// The config file when no -c is given: never relative to the working directory, so a
// service manager, a shell in another folder and a container all read the same file.
std::string default_config_path() {
    const char* env = std::getenv("SLUICE_CONFIG");
    return env && *env ? env : kDefaultConfigPath;
}

int run_cli(int argc, char** argv) {
    std::string config_path;
    bool check = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--version" || a == "-v") {
            std::printf("sluice %s (commit %s, %s build)\n", kVersion, kGitCommit, kBuildType);
            return 0;
        } else if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--check" || a == "-t") {
            check = true;
        } else if (a == "-c" || a == "--config") {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                std::fprintf(stderr, "sluice: %s needs a file name\n%s", a.c_str(), kUsage);
                return 2;
            }
            config_path = argv[++i];
        } else {
            std::fprintf(stderr, "sluice: unknown argument '%s'\n%s", a.c_str(), kUsage);
            return 2;
        }
    }

    if (config_path.empty()) {
        config_path = default_config_path();
        if (::access(config_path.c_str(), F_OK) != 0) {
            std::fprintf(stderr, "sluice: no config file at %s (give one with -c FILE or SLUICE_CONFIG)\n%s",
                         config_path.c_str(), kUsage);
            return 2;
        }
    }
    config::LoadResult loaded = config::load_config_file(config_path, &plugins::builtin_registry());
    for (const auto& w : loaded.warnings) {
        config::ConfigError shown = w;
        shown.message = "warning: " + w.message;
        std::fprintf(stderr, "%s\n", shown.to_string().c_str());
    }
    if (!loaded.errors.empty()) {
        for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
        return 1;
    }
    std::string error;
    RuntimePtr rt = build_runtime(loaded.config, 1, &error);
    if (!rt) {
        std::fprintf(stderr, "%s: %s\n", config_path.c_str(), error.c_str());
        return 1;
    }
    if (check) {
        std::printf("%s: ok\n", config_path.c_str());
        return 0;
    }
    // A client that disappears mid-write must be an error return, not a signal.
    ::signal(SIGPIPE, SIG_IGN);
    log::set_level(rt->config->log_level);
    if (!log::set_access_log(rt->config->access_log)) {
        std::fprintf(stderr, "sluice: cannot open access log %s\n", rt->config->access_log.c_str());
        return 1;
    }
    Server server(config_path, rt);
    return server.run();
}

}  // namespace sluice::app
