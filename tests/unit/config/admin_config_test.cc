// admin: {listen: ADDRESS}: the separate listener for the admin endpoints. One address,
// parsed like a listen address, and never one the public listeners bind too.
#include <catch2/catch.hpp>

#include "gateway/config/config.h"

using namespace sluice::config;

namespace {

using Lines = std::vector<std::string>;

LoadResult load(const std::string& admin, const std::string& listen = "127.0.0.1:8080") {
    return load_config_string("listen: " + listen + "\nbroker: {type: redis}\n" + admin, "t.yaml");
}

Lines errors_of(const std::string& admin, const std::string& listen = "127.0.0.1:8080") {
    LoadResult r = load(admin, listen);
    Lines out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    CHECK(bool(r.config) == out.empty());
    return out;
}

}  // namespace

TEST_CASE("admin.listen sets a separate admin listener", "[config]") {
    LoadResult r = load("admin: {listen: 127.0.0.1:9090}\n");
    REQUIRE(r.errors.empty());
    REQUIRE(r.config->admin);
    CHECK(r.config->admin->listen.host == "127.0.0.1");
    CHECK(r.config->admin->listen.port == 9090);

    r = load("admin:\n  listen: '[::1]:8080'\n");
    REQUIRE(r.errors.empty());
    CHECK(r.config->admin->listen.host == "::1");  // IPv6 sockets are V6ONLY: no clash
    CHECK(r.config->admin->listen.port == 8080);
}

TEST_CASE("without admin the admin endpoints stay on the public listeners", "[config]") {
    LoadResult r = load("");
    REQUIRE(r.errors.empty());
    CHECK_FALSE(r.config->admin);
}

TEST_CASE("admin.listen errors point at the key or value", "[config]") {
    CHECK(errors_of("admin: {}\n") == Lines{"t.yaml:3:8: missing required key 'listen' in admin"});
    CHECK(errors_of("admin:\n") == Lines{"t.yaml:3:1: admin: expected a map of settings, got nothing"});
    CHECK(errors_of("admin: {listen: [127.0.0.1:9090]}\n") ==
          Lines{"t.yaml:3:17: admin.listen: takes one address, like 127.0.0.1:9090"});
    CHECK(errors_of("admin: {listen: 'nohost:1'}\n") ==
          Lines{"t.yaml:3:17: admin.listen: host must be a numeric IPv4 address or a bracketed "
                "IPv6 address, got 'nohost'"});
    CHECK(errors_of("admin: {listen: 127.0.0.1:9090, port: 3}\n") ==
          Lines{"t.yaml:3:33: unknown key 'port' in admin"});
}

TEST_CASE("admin.listen must not overlap a public listen address", "[config]") {
    CHECK(errors_of("admin: {listen: 127.0.0.1:8080}\n") ==
          Lines{"t.yaml:3:17: admin.listen: '127.0.0.1:8080' overlaps the public listen address "
                "127.0.0.1:8080; the admin listener needs an address of its own"});
    // A wildcard on the same port takes every address of its family, either way round.
    CHECK(errors_of("admin: {listen: '0.0.0.0:8080'}\n").size() == 1);
    CHECK(errors_of("admin: {listen: 127.0.0.1:8080}\n", "0.0.0.0:8080").size() == 1);
    CHECK(errors_of("admin: {listen: '[::]:8080'}\n", "'[::1]:8080'").size() == 1);
    // Checked against every public address, wherever `listen` stands in the file.
    LoadResult r = load_config_string(
        "admin: {listen: 127.0.0.1:9091}\nlisten: [127.0.0.1:8080, 127.0.0.1:9091]\n"
        "broker: {type: redis}\n",
        "t.yaml");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].to_string() ==
          "t.yaml:1:17: admin.listen: '127.0.0.1:9091' overlaps the public listen address "
          "127.0.0.1:9091; the admin listener needs an address of its own");
    // Other ports, or port 0 (a free port), never clash.
    CHECK(errors_of("admin: {listen: 127.0.0.1:9090}\n", "0.0.0.0:8080").empty());
    CHECK(errors_of("admin: {listen: 127.0.0.1:0}\n", "127.0.0.1:0").empty());
    CHECK(errors_of("admin: {listen: '0.0.0.0:8080'}\n", "'[::1]:8080'").empty());
}
