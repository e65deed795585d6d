// Third-party plugins: a plugin item's YAML options as the JSON its create() reads (plain
// scalars keep their YAML type, quoted ones are strings), and the load errors that name
// the file.
#include <catch2/catch.hpp>

#include "plugins/external/loaded_plugin.h"
#include "plugins/external/yaml_json.h"

using namespace sluice::plugins::external;

TEST_CASE("external plugins: YAML options become JSON", "[plugins][external]") {
    YAML::Node n = YAML::Load(
        "{a: 1, b: -2.5, c: true, d: false, e: null, f: ~, g: text, h: '12', i: \"true\", "
        "j: [x, 2, {k: v}], l: {}, m: 1e3, n: 99999999999999999999, o: 1.2.3}");
    nlohmann::json j = yaml_to_json(n);
    CHECK(j == nlohmann::json::parse(
                   R"({"a":1,"b":-2.5,"c":true,"d":false,"e":null,"f":null,"g":"text","h":"12",
                       "i":"true","j":["x",2,{"k":"v"}],"l":{},"m":1000.0,
                       "n":1e20,"o":"1.2.3"})"));
    CHECK(yaml_to_json(YAML::Load("")) == nlohmann::json(nullptr));
}

TEST_CASE("external plugins: a file that cannot be loaded is named in the error", "[plugins][external]") {
    std::string error;
    CHECK(load_plugin("/nonexistent/dir/x.so", error) == nullptr);
    CHECK(error.rfind("cannot load plugin '/nonexistent/dir/x.so': ", 0) == 0);
}
