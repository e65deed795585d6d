// The plugin framework: `plugins:` lists on routes and on publish, read through a
// registry (here one with a test plugin), errors with file:line:col, and chains built
// from the parsed options in list order.
#include <catch2/catch.hpp>

#include "gateway/config/config.h"
#include "plugins/registry.h"
#include "tests/unit/support/fake_request.h"

using namespace sluice;
using sluice::testing::FakeRequest;

namespace {

struct TagOptions {
    std::string value;
    bool publish = false;
};

// Adds "X-Tag: <value>" to every answer; `value` is required and must not be "bad".
struct TagFilter final : pipeline::Filter {
    TagOptions opts;
    explicit TagFilter(TagOptions o) : opts(std::move(o)) {}
    std::string_view name() const override { return "tag"; }
    unsigned hooks() const override { return OnResponseHead; }
    void on_response_head(const pipeline::Request&, pipeline::ResponseHead& head) override {
        head.headers.emplace_back("X-Tag", opts.value);
    }
};

plugins::Registry test_registry() {
    plugins::Registry r;
    r.add(plugins::make_plugin<TagOptions>(
        "tag",
        [](config::MapReader& m, const config::PluginSite& site) -> std::optional<TagOptions> {
            TagOptions o;
            o.publish = site.route == nullptr;
            if (!m.require("value")) return std::nullopt;
            if (!m.get_string("value", o.value)) return std::nullopt;
            if (o.value == "bad") {
                m.diag().error(m.find("value")->mark, m.path("value") + ": must not be bad");
                return std::nullopt;
            }
            return o;
        },
        [](const TagOptions& o, const plugins::BuildContext&, std::string& error)
            -> std::shared_ptr<pipeline::Filter> {
            if (o.value == "unbuildable") {
                error = "cannot build";
                return nullptr;
            }
            return std::make_shared<TagFilter>(o);
        }));
    r.add(plugins::make_plugin<TagOptions>(
        "another", [](config::MapReader&, const config::PluginSite&) { return std::optional<TagOptions>(TagOptions{}); },
        [](const TagOptions&, const plugins::BuildContext&, std::string&) -> std::shared_ptr<pipeline::Filter> {
            return std::make_shared<TagFilter>(TagOptions{"another"});
        }));
    return r;
}

const plugins::Registry& registry() {
    static const plugins::Registry r = test_registry();
    return r;
}

using Lines = std::vector<std::string>;

Lines errors_of(const std::string& yaml, const config::PluginCatalog* catalog = &registry()) {
    config::LoadResult r = config::load_config_string(yaml, "t.yaml", catalog);
    Lines out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    CHECK(bool(r.config) == out.empty());
    return out;
}

// Line 1: broker; line 2: routes; route item at line 3, its plugins at line 5.
const std::string kRoute = "broker: {type: redis}\nroutes:\n  - path: /a\n    sse: {channel: a}\n";

}  // namespace

TEST_CASE("plugins: a route's list is parsed in order with each plugin's options", "[plugins]") {
    config::LoadResult r = config::load_config_string(
        kRoute + "    plugins:\n      - tag: {value: one}\n      - another:\n      - tag: {value: two}\n",
        "t.yaml", &registry());
    REQUIRE(r.errors.empty());
    const auto& uses = r.config->routes.at(0).plugins;
    REQUIRE(uses.size() == 3);
    CHECK(uses[0].name == "tag");
    CHECK(uses[0].line == 6);
    CHECK(static_cast<const TagOptions*>(uses[0].options.get())->value == "one");
    CHECK(uses[1].name == "another");
    CHECK(static_cast<const TagOptions*>(uses[2].options.get())->value == "two");

    // Built into a chain in the same order: the response-head hooks run in list order.
    pipeline::FilterChain chain;
    std::string error;
    REQUIRE(registry().build_chain(uses, plugins::BuildContext{"/a", false}, chain, error));
    CHECK(chain.filters().size() == 3);
    CHECK(chain.edits_response_heads());
    CHECK_FALSE(chain.filters_requests());
    FakeRequest req;
    pipeline::ResponseHead head;
    chain.on_response_head(req, head);
    CHECK(head.headers == pipeline::Headers{{"X-Tag", "one"}, {"X-Tag", "another"}, {"X-Tag", "two"}});
}

TEST_CASE("plugins: publish.plugins is read with the publish site", "[plugins]") {
    config::LoadResult r = config::load_config_string(
        "broker: {type: memory}\npublish:\n  token: t\n  plugins:\n    - tag: {value: p}\n", "t.yaml",
        &registry());
    REQUIRE(r.errors.empty());
    REQUIRE(r.config->publish->plugins.size() == 1);
    CHECK(static_cast<const TagOptions*>(r.config->publish->plugins[0].options.get())->publish);
}

TEST_CASE("plugins: a route without plugins has an empty list", "[plugins]") {
    config::LoadResult r = config::load_config_string(kRoute, "t.yaml", &registry());
    REQUIRE(r.errors.empty());
    CHECK(r.config->routes.at(0).plugins.empty());
}

TEST_CASE("plugins: an unknown name is an error at the name, listing the known ones", "[plugins]") {
    CHECK(errors_of(kRoute + "    plugins:\n      - corz: {}\n") ==
          Lines{"t.yaml:6:9: routes[0].plugins[0]: unknown plugin 'corz' (known: another or tag)"});
    // Without a catalog every name is unknown.
    CHECK(errors_of(kRoute + "    plugins:\n      - tag: {value: x}\n", nullptr) ==
          Lines{"t.yaml:6:9: routes[0].plugins[0]: unknown plugin 'tag'"});
}

TEST_CASE("plugins: each item must be a one-key map", "[plugins]") {
    CHECK(errors_of(kRoute + "    plugins:\n      - tag\n") ==
          Lines{"t.yaml:6:9: routes[0].plugins[0]: a plugin is a map with one key, its name, like "
                "'- cors: {origins: [\"*\"]}'; got 'tag'"});
    CHECK(errors_of(kRoute + "    plugins:\n      - {tag: {value: a}, another: {}}\n") ==
          Lines{"t.yaml:6:9: routes[0].plugins[0]: a plugin is a map with one key, its name, like "
                "'- cors: {origins: [\"*\"]}'; got a map with 2 keys (one plugin per list item)"});
    CHECK(errors_of(kRoute + "    plugins: {tag: {value: a}}\n") ==
          Lines{"t.yaml:5:14: routes[0].plugins: expected a list of plugins, got a map"});
}

TEST_CASE("plugins: options are checked by the plugin, with file:line:col", "[plugins]") {
    // A bad value, at the value.
    CHECK(errors_of(kRoute + "    plugins:\n      - tag: {value: bad}\n") ==
          Lines{"t.yaml:6:22: routes[0].plugins[0].tag.value: must not be bad"});
    // A missing required key, at the options map.
    CHECK(errors_of(kRoute + "    plugins:\n      - tag: {}\n") ==
          Lines{"t.yaml:6:14: missing required key 'value' in routes[0].plugins[0].tag"});
    // An unknown key (the loader reports what the plugin never asked about).
    CHECK(errors_of(kRoute + "    plugins:\n      - tag: {value: a, vale: b}\n") ==
          Lines{"t.yaml:6:25: unknown key 'vale' in routes[0].plugins[0].tag (did you mean 'value'?)"});
    // Options that are not a map.
    CHECK(errors_of(kRoute + "    plugins:\n      - tag: [1]\n") ==
          Lines{"t.yaml:6:14: routes[0].plugins[0].tag: expected a map of settings, got a list"});
    // On publish too.
    CHECK(errors_of("broker: {type: memory}\npublish:\n  token: t\n  plugins:\n    - tag: {value: bad}\n") ==
          Lines{"t.yaml:5:20: publish.plugins[0].tag.value: must not be bad"});
}

TEST_CASE("plugins: a plugin that cannot be built names itself and its line", "[plugins]") {
    config::LoadResult r = config::load_config_string(
        kRoute + "    plugins:\n      - tag: {value: unbuildable}\n", "t.yaml", &registry());
    REQUIRE(r.errors.empty());
    pipeline::FilterChain chain;
    std::string error;
    CHECK_FALSE(registry().build_chain(r.config->routes[0].plugins, {"/a", false}, chain, error));
    CHECK(error == "tag (line 6): cannot build");
}

TEST_CASE("plugins: the built-in registry lists its names", "[plugins]") {
    const plugins::Registry& builtins = plugins::builtin_registry();
    CHECK_FALSE(builtins.knows("no-such-plugin"));
    CHECK_FALSE(builtins.names().empty());
}
