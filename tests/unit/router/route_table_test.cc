// Route table: file order, methods and 405, prefixes, captures, channel lookup.
#include <catch2/catch.hpp>

#include "gateway/router/route_table.h"

using namespace sluice;
using namespace sluice::router;

namespace {

Route sse_route(std::string path, std::string ch) {
    Route r;
    r.path = std::move(path);
    r.kind = RouteKind::Sse;
    r.methods = {"GET", "HEAD"};
    r.sse.emplace();
    r.sse->channel = std::move(ch);
    return r;
}

Route poll_route(std::string path, std::string ch) {
    Route r;
    r.path = std::move(path);
    r.kind = RouteKind::Poll;
    r.methods = {"GET", "HEAD"};
    r.poll.emplace();
    r.poll->channel = std::move(ch);
    return r;
}

Route proxy_route(std::string prefix) {
    Route r;
    r.prefix = std::move(prefix);
    r.kind = RouteKind::Proxy;  // every method
    r.proxy = proxy::RouteOptions{"app"};
    return r;
}

Route static_route(std::string prefix) {
    Route r;
    r.prefix = std::move(prefix);
    r.kind = RouteKind::Static;
    r.methods = {"GET", "HEAD"};
    r.static_files = files::StaticOptions{"/srv", "index.html"};
    return r;
}

// What the config holds for the table: its routes, in file order.
struct RouteList {
    std::vector<Route> routes;
};

RouteList spec_example() {
    RouteList cfg;
    cfg.routes.push_back(sse_route("/api/analysis/{id}/stream", "analysis:{id}"));
    cfg.routes.push_back(poll_route("/api/analysis/{id}/poll", "analysis:{id}"));
    cfg.routes.push_back(proxy_route("/api/"));
    cfg.routes.push_back(static_route("/"));
    return cfg;
}

RouteTable build(const RouteList& cfg) {
    std::string err;
    auto t = RouteTable::build(cfg.routes, &err);
    INFO(err);
    REQUIRE(t);
    return std::move(*t);
}

}  // namespace

TEST_CASE("route table compiles routes with their methods", "[router]") {
    auto cfg = spec_example();
    auto table = build(cfg);
    REQUIRE(table.routes().size() == 4);
    const auto& rs = table.routes();
    CHECK(rs[0].route == &cfg.routes[0]);
    CHECK(rs[0].path);
    REQUIRE(rs[0].channel);
    CHECK(rs[0].channel->text() == "analysis:{id}");
    CHECK(rs[1].channel);
    CHECK_FALSE(rs[2].path);
    CHECK_FALSE(rs[2].channel);
}

TEST_CASE("route table: first matching route wins, with captures", "[router]") {
    auto cfg = spec_example();
    auto table = build(cfg);

    auto m = table.match("GET", "/api/analysis/42/stream");
    REQUIRE(m.kind == Match::Kind::Found);
    CHECK(m.index == 0);
    CHECK(m.route == &table.routes()[0]);
    CHECK(m.captures == Captures{{"id", "42"}});

    m = table.match("HEAD", "/api/analysis/7/poll");
    REQUIRE(m.kind == Match::Kind::Found);
    CHECK(m.index == 1);
    CHECK(m.captures == Captures{{"id", "7"}});

    // Not the sse template (extra segment) -> falls to the proxy prefix.
    m = table.match("GET", "/api/analysis/42/stream/x");
    REQUIRE(m.kind == Match::Kind::Found);
    CHECK(m.index == 2);
    CHECK(m.captures.empty());

    m = table.match("GET", "/index.html");
    REQUIRE(m.kind == Match::Kind::Found);
    CHECK(m.index == 3);
}

TEST_CASE("route table: wrong method on the first match is 405, not the next route",
          "[router]") {
    auto cfg = spec_example();
    auto table = build(cfg);
    auto m = table.match("POST", "/api/analysis/42/stream");
    CHECK(m.kind == Match::Kind::MethodNotAllowed);
    CHECK(m.index == 0);
    CHECK(m.route == &table.routes()[0]);
    CHECK(m.allow == "GET, HEAD");

    m = table.match("DELETE", "/favicon.ico");
    CHECK(m.kind == Match::Kind::MethodNotAllowed);
    CHECK(m.index == 3);
    CHECK(m.allow == "GET, HEAD");

    // Methods are case-sensitive (RFC 9110).
    CHECK(table.match("get", "/api/analysis/1/stream").kind == Match::Kind::MethodNotAllowed);
}

TEST_CASE("route table: proxy routes allow every method", "[router]") {
    auto cfg = spec_example();
    auto table = build(cfg);
    for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FOO"}) {
        auto m = table.match(method, "/api/analysis/start");
        CHECK(m.kind == Match::Kind::Found);
        CHECK(m.index == 2);
        CHECK(m.allow.empty());
    }
}

TEST_CASE("route table: prefix matching and not found", "[router]") {
    RouteList cfg;
    cfg.routes.push_back(proxy_route("/api/"));
    auto table = build(cfg);
    CHECK(table.match("GET", "/api/").kind == Match::Kind::Found);
    CHECK(table.match("GET", "/api/x/y").kind == Match::Kind::Found);
    CHECK(table.match("GET", "/api").kind == Match::Kind::NotFound);
    CHECK(table.match("GET", "/ap").kind == Match::Kind::NotFound);
    auto m = table.match("GET", "/other");
    CHECK(m.kind == Match::Kind::NotFound);
    CHECK(m.route == nullptr);
    CHECK(m.captures.empty());
}

TEST_CASE("route table: empty table finds nothing", "[router]") {
    RouteList cfg;
    auto table = build(cfg);
    CHECK(table.match("GET", "/").kind == Match::Kind::NotFound);
    CHECK(table.sse_route_for_channel("x") == nullptr);
}

TEST_CASE("route table: captures carry percent-decoded values", "[router]") {
    auto cfg = spec_example();
    auto table = build(cfg);
    auto m = table.match("GET", "/api/analysis/%2A/stream");
    REQUIRE(m.kind == Match::Kind::Found);
    CHECK(m.captures == Captures{{"id", "*"}});
    // A bad escape is not a match for the template; the proxy prefix takes it.
    m = table.match("GET", "/api/analysis/%zz/stream");
    CHECK(m.index == 2);
}

TEST_CASE("route table: bad templates and missing settings fail to build", "[router]") {
    std::string err;
    {
        RouteList cfg;
        cfg.routes.push_back(sse_route("/a/{id", "a:{id}"));
        cfg.routes.back().line = 7;
        CHECK_FALSE(RouteTable::build(cfg.routes, &err));
        CHECK(err.find("line 7") != std::string::npos);
    }
    {
        RouteList cfg;
        cfg.routes.push_back(sse_route("/a/{id}", "a:{id"));
        CHECK_FALSE(RouteTable::build(cfg.routes, &err));
    }
    {
        RouteList cfg;
        cfg.routes.push_back(poll_route("/a/{id}", ""));
        CHECK_FALSE(RouteTable::build(cfg.routes, &err));
    }
    {
        RouteList cfg;
        Route r;
        r.path = "/a";
        r.kind = RouteKind::Sse;  // no sse block
        cfg.routes.push_back(r);
        CHECK_FALSE(RouteTable::build(cfg.routes, &err));
    }
    {
        RouteList cfg;
        Route r = proxy_route("/a");
        r.path = "/a";  // both path and prefix
        cfg.routes.push_back(r);
        CHECK_FALSE(RouteTable::build(cfg.routes, &err));
        cfg.routes.back().path.clear();
        cfg.routes.back().prefix.clear();  // neither
        CHECK_FALSE(RouteTable::build(cfg.routes, &err));
    }
}

TEST_CASE("route table: sse_route_for_channel picks the first fitting sse route", "[router]") {
    RouteList cfg;
    cfg.routes.push_back(poll_route("/p/{id}", "analysis:{id}"));  // poll routes don't count
    cfg.routes.push_back(sse_route("/news", "news"));
    cfg.routes.push_back(sse_route("/a/{id}", "analysis:{id}"));
    cfg.routes.push_back(sse_route("/b/{id}", "analysis:{id}"));
    cfg.routes[2].sse->history.max_events = 5;
    cfg.routes[3].sse->history.max_events = 9;
    auto table = build(cfg);

    const sse::SseRouteOptions* r = table.sse_route_for_channel("analysis:42");
    REQUIRE(r);
    CHECK(r == &*cfg.routes[2].sse);
    CHECK(r->history.max_events == 5);
    CHECK(table.sse_route_for_channel("news") == &*cfg.routes[1].sse);
    CHECK(table.sse_route_for_channel("news:1") == nullptr);
    CHECK(table.sse_route_for_channel("analysis:") == nullptr);
}
