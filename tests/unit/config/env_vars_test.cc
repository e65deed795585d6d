// ${NAME} and ${NAME:-default} in config values: the expansion rules on their own, and
// through the loader (values typed after expansion, errors at file:line:col, no secret
// in any message).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>

#include "gateway/config/config.h"
#include "gateway/config/env_vars.h"

using namespace sluice::config;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

// Sets a variable for one test and removes it afterwards.
struct ScopedEnv {
    std::string name;
    ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
        setenv(name.c_str(), value.c_str(), 1);
    }
    ~ScopedEnv() { unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("expand_env substitutes set variables and keeps other text", "[config][env]") {
    auto env = env_of({{"TOKEN", "s3cret"}, {"PORT", "8080"}, {"EMPTY", ""}});
    CHECK(expand_env("${TOKEN}", env).text == "s3cret");
    CHECK(expand_env("127.0.0.1:${PORT}", env).text == "127.0.0.1:8080");
    CHECK(expand_env("a${PORT}b${PORT}", env).text == "a8080b8080");
    CHECK(expand_env("${EMPTY}", env).text.empty());
    CHECK(expand_env("no references", env).text == "no references");
    CHECK(expand_env("cost $5 and $PORT", env).text == "cost $5 and $PORT");  // only ${ is special
    CHECK(expand_env("$", env).text == "$");
}

TEST_CASE("expand_env defaults apply when the variable is unset or empty", "[config][env]") {
    auto env = env_of({{"SET", "x"}, {"EMPTY", ""}});
    CHECK(expand_env("${UNSET:-fallback}", env).text == "fallback");
    CHECK(expand_env("${EMPTY:-fallback}", env).text == "fallback");
    CHECK(expand_env("${SET:-fallback}", env).text == "x");
    CHECK(expand_env("${UNSET:-}", env).text.empty());
    CHECK(expand_env("${UNSET:-a:b-c}", env).text == "a:b-c");
}

TEST_CASE("expand_env: $${ is a literal ${", "[config][env]") {
    auto env = env_of({{"A", "1"}});
    CHECK(expand_env("$${A}", env).text == "${A}");
    CHECK(expand_env("x$${A}${A}", env).text == "x${A}1");
}

TEST_CASE("expand_env reports unset variables and malformed references", "[config][env]") {
    auto env = env_of({{"SECRET", "hunter2"}});
    EnvExpansion unset = expand_env("pre ${MISSING}", env);
    CHECK_THAT(unset.error, Catch::Contains("environment variable MISSING is not set"));
    CHECK(unset.error_at == 4);
    CHECK_THAT(expand_env("${}", env).error, Catch::Contains("invalid variable reference"));
    CHECK_THAT(expand_env("${1A}", env).error, Catch::Contains("invalid variable reference"));
    CHECK_THAT(expand_env("${SECRET", env).error, Catch::Contains("expected '}'"));
    CHECK_THAT(expand_env("${SECRET:-x", env).error, Catch::Contains("missing '}'"));
    CHECK_THAT(expand_env("${SECRET-x}", env).error, Catch::Contains("expected '}'"));
    // A message names the variable, never a value.
    for (const char* bad : {"${SECRET", "${SECRET-x}", "${SECRET:-x"})
        CHECK(expand_env(bad, env).error.find("hunter2") == std::string::npos);
}

TEST_CASE("config values come from the environment, typed after expansion", "[config][env]") {
    ScopedEnv token("SLUICE_TEST_TOKEN", "tok-123");
    ScopedEnv workers("SLUICE_TEST_WORKERS", "2");
    LoadResult r = load_config_string(
        "listen: 127.0.0.1:${SLUICE_TEST_PORT:-9090}\n"
        "workers: ${SLUICE_TEST_WORKERS}\n"
        "broker: {type: memory}\n"
        "publish:\n"
        "  token: ${SLUICE_TEST_TOKEN}\n"
        "limits:\n"
        "  client_buffer: ${SLUICE_TEST_BUFFER:-64KiB}\n",
        "t.yaml");
    REQUIRE(r.errors.empty());
    REQUIRE(r.config);
    CHECK(r.config->publish->token == "tok-123");
    CHECK(r.config->workers == 2);
    CHECK(r.config->limits.client_buffer == 64 * 1024);
    REQUIRE(r.config->listen.size() == 1);
    CHECK(r.config->listen[0].port == 9090);
}

TEST_CASE("an unset variable is an error at its file:line:col", "[config][env]") {
    unsetenv("SLUICE_TEST_UNSET");
    LoadResult r = load_config_string(
        "broker: {type: memory}\n"
        "publish:\n"
        "  token: ${SLUICE_TEST_UNSET}\n",
        "t.yaml");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].to_string() ==
          "t.yaml:3:10: environment variable SLUICE_TEST_UNSET is not set (set it, or give a "
          "default: ${SLUICE_TEST_UNSET:-default})");
    CHECK_FALSE(r.config);
}

TEST_CASE("a bad value from the environment is reported at the value", "[config][env]") {
    ScopedEnv bad("SLUICE_TEST_BAD_SIZE", "lots");
    LoadResult r = load_config_string(
        "broker: {type: memory}\n"
        "publish: {token: t}\n"
        "limits:\n"
        "  client_buffer: ${SLUICE_TEST_BAD_SIZE}\n",
        "t.yaml");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 4);
    CHECK(r.errors[0].column == 18);
}
