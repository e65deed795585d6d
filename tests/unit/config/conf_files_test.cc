// Every config shipped in conf/ must load without a single error: they are what users
// copy first, and the README's run command uses conf/sluice.yaml.
#include <catch2/catch.hpp>

#include <filesystem>

#include "gateway/config/config.h"
#include "plugins/registry.h"

namespace fs = std::filesystem;
using namespace sluice;
using namespace sluice::config;

namespace {

// Found from this file's own path, so the test runs from any working directory.
fs::path conf_dir() { return fs::path(__FILE__).parent_path() / "../../../conf"; }

std::vector<fs::path> yaml_files_in(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

TEST_CASE("every conf/*.yaml and conf/examples/*.yaml loads with no errors", "[config]") {
    std::vector<fs::path> files = yaml_files_in(conf_dir());
    std::vector<fs::path> examples = yaml_files_in(conf_dir() / "examples");
    files.insert(files.end(), examples.begin(), examples.end());
    REQUIRE(files.size() >= 3);  // sluice.yaml, examples/broadcast.yaml, examples/full.yaml
    for (const auto& file : files) {
        INFO(file.string());
        LoadResult r = load_config_file(file.string(), &plugins::builtin_registry());
        for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
        CHECK(r.errors.empty());
        CHECK(r.config);
    }
}

TEST_CASE("conf/sluice.yaml is the documented development config", "[config]") {
    LoadResult r = load_config_file((conf_dir() / "sluice.yaml").string());
    REQUIRE(r.config);
    const Config& c = *r.config;
    REQUIRE(c.listen.size() == 1);
    CHECK(c.listen[0].host == "127.0.0.1");
    CHECK(c.listen[0].port == 8080);
    CHECK(c.workers == 1);
    CHECK(c.broker.type == broker::BrokerType::Memory);
    REQUIRE(c.publish);
    CHECK(c.publish->path == "/_sluice/publish/{channel}");
    CHECK(c.publish->token == "dev-token");

    auto find = [&](const std::string& path) -> const router::Route* {
        for (const auto& route : c.routes) {
            if (route.path == path) return &route;
        }
        return nullptr;
    };
    const router::Route* demo = find("/demo/stream");
    REQUIRE(demo);
    REQUIRE(demo->sse);
    CHECK(demo->sse->channel == "demo");
    CHECK(demo->sse->heartbeat.interval == std::chrono::seconds(15));
    CHECK(demo->sse->history.max_events == 1000);
    CHECK(demo->sse->history.ttl == std::chrono::hours(1));
    CHECK(demo->sse->terminal.empty());
    const router::Route* demo_poll = find("/demo/poll");
    REQUIRE(demo_poll);
    REQUIRE(demo_poll->poll);
    CHECK(demo_poll->poll->channel == "demo");
    const router::Route* stream = find("/api/analysis/{id}/stream");
    REQUIRE(stream);
    REQUIRE(stream->sse);
    CHECK(stream->sse->channel == "analysis:{id}");
    CHECK(stream->sse->terminal == std::vector<std::string>{"done", "error"});
    const router::Route* poll = find("/api/analysis/{id}/poll");
    REQUIRE(poll);
    REQUIRE(poll->poll);
    CHECK(poll->poll->channel == "analysis:{id}");
}

TEST_CASE("conf/examples/broadcast.yaml is live-only with data heartbeats", "[config]") {
    LoadResult r = load_config_file((conf_dir() / "examples/broadcast.yaml").string());
    REQUIRE(r.config);
    CHECK(r.config->workers == 2);
    bool found = false;
    for (const auto& route : r.config->routes) {
        if (!route.sse) continue;
        found = true;
        CHECK(route.sse->start == sse::Start::Latest);
        CHECK(route.sse->heartbeat.mode == sse::HeartbeatMode::Data);
    }
    CHECK(found);
}

TEST_CASE("static roots in the shipped configs exist, relative to the config file", "[config]") {
    // sluice resolves a relative static root from the config file's folder (docs/proxy.md);
    // the demo page must be found wherever sluice is started from.
    for (const char* name : {"demo.yaml"}) {
        fs::path file = conf_dir() / name;
        LoadResult r = load_config_file(file.string());
        REQUIRE(r.config);
        int statics = 0;
        for (const auto& route : r.config->routes) {
            if (!route.static_files) continue;
            ++statics;
            fs::path root = route.static_files->root;
            if (root.is_relative()) root = file.parent_path() / root;
            INFO(root.string());
            CHECK(fs::is_directory(root));
            CHECK(fs::exists(root / route.static_files->index));
        }
        CHECK(statics >= 1);
    }
}
