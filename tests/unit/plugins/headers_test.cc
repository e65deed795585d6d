// headers: option checks with file:line:col; remove, set and add on request and answer.
#include <catch2/catch.hpp>

#include "gateway/config/config.h"
#include "plugins/headers/headers.h"
#include "plugins/registry.h"
#include "tests/unit/support/fake_request.h"

using namespace sluice;
using sluice::testing::FakeRequest;

namespace {

using Lines = std::vector<std::string>;

std::string config_with(const std::string& options) {
    return "broker: {type: redis}\nupstreams: {app: {servers: ['127.0.0.1:1']}}\nroutes:\n"
           "  - prefix: /api/\n    proxy: {upstream: app}\n    plugins:\n      - headers: " + options + "\n";
}

Lines errors_of(const std::string& yaml) {
    config::LoadResult r = config::load_config_string(yaml, "t.yaml", &plugins::builtin_registry());
    Lines out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    return out;
}

std::shared_ptr<pipeline::Filter> filter_for(const std::string& options) {
    config::LoadResult r = config::load_config_string(config_with(options), "t.yaml", &plugins::builtin_registry());
    for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
    REQUIRE(r.errors.empty());
    pipeline::FilterChain chain;
    std::string error;
    REQUIRE(plugins::builtin_registry().build_chain(r.config->routes[0].plugins, {"/api/*", false}, chain, error));
    return chain.filters().at(0);
}

}  // namespace

TEST_CASE("headers: bad options are errors at their key or value", "[plugins][headers]") {
    CHECK(errors_of(config_with("{}")) ==
          Lines{"t.yaml:7:18: routes[0].plugins[0].headers: nothing to do: give request and/or "
                "response with set, add or remove"});
    CHECK(errors_of(config_with("{request: {set: {'Bad Name': x}}}")) ==
          Lines{"t.yaml:7:35: routes[0].plugins[0].headers.request.set.Bad Name: is not a header name"});
    CHECK(errors_of(config_with("{request: {set: {Host: x}}}")) ==
          Lines{"t.yaml:7:35: routes[0].plugins[0].headers.request.set.Host: is set by sluice itself "
                "and cannot be edited"});
    CHECK(errors_of(config_with("{response: {remove: [Content-Length]}}")) ==
          Lines{"t.yaml:7:38: routes[0].plugins[0].headers.response.remove: 'Content-Length' is set by "
                "sluice itself and cannot be edited"});
    CHECK(errors_of(config_with("{request: {sett: {X-A: b}}}")) ==
          Lines{"t.yaml:7:29: unknown key 'sett' in routes[0].plugins[0].headers.request (did you mean 'set'?)"});
    CHECK(errors_of(config_with("{request: {set: [X-A]}}")) ==
          Lines{"t.yaml:7:34: routes[0].plugins[0].headers.request.set: expected a map of settings, got a list"});
}

TEST_CASE("headers: request edits: remove, then set (replacing), then add", "[plugins][headers]") {
    auto f = filter_for("{request: {remove: [X-Debug], set: {X-Gateway: sluice}, add: {X-Extra: two}}}");
    CHECK(f->hooks() == pipeline::Filter::OnRequestHead);
    FakeRequest req;
    req.request.headers = {{"x-debug", "1"}, {"X-Gateway", "spoofed"}, {"X-Extra", "one"}, {"Accept", "*/*"}};
    CHECK(f->on_request_head(req, {}) == pipeline::HeadVerdict::Pass);
    std::vector<std::pair<std::string, std::string>> got;
    for (const auto& h : req.request.headers) got.emplace_back(h.name, h.value);
    CHECK(got == std::vector<std::pair<std::string, std::string>>{
                     {"X-Extra", "one"}, {"Accept", "*/*"}, {"X-Gateway", "sluice"}, {"X-Extra", "two"}});
}

TEST_CASE("headers: response edits", "[plugins][headers]") {
    auto f = filter_for("{response: {remove: [server], set: {Cache-Control: no-store}}}");
    CHECK(f->hooks() == pipeline::Filter::OnResponseHead);
    FakeRequest req;
    pipeline::ResponseHead head;
    head.headers = {{"Server", "upstream/1"}, {"Cache-Control", "max-age=60"}, {"X-Keep", "1"}};
    f->on_response_head(req, head);
    CHECK(head.headers == pipeline::Headers{{"X-Keep", "1"}, {"Cache-Control", "no-store"}});
}
