// The jwt plugin's token sources: Authorization: Bearer, cookies and query parameters.
#include "plugins/jwt/token_sources.h"

#include "plugins/jwt/options.h"

#include <catch2/catch.hpp>

using namespace sluice::plugins::jwt;
using sluice::http::RequestHead;

namespace {

RequestHead head_with(std::vector<std::pair<std::string, std::string>> headers, std::string query = {}) {
    RequestHead h;
    h.method = "GET";
    h.path = "/s";
    h.query = std::move(query);
    h.target = h.query.empty() ? h.path : h.path + "?" + h.query;
    for (auto& [n, v] : headers) h.headers.push_back({n, v});
    return h;
}

std::vector<TokenSource> sources(std::initializer_list<const char*> texts) {
    std::vector<TokenSource> out;
    for (const char* t : texts) {
        std::string error;
        auto s = parse_token_source(t, error);
        INFO(error);
        REQUIRE(s);
        out.push_back(*s);
    }
    return out;
}

}  // namespace

TEST_CASE("token sources parse header, cookie:<name> and query:<name>", "[plugins][jwt]") {
    std::string error;
    CHECK(parse_token_source("header", error) == TokenSource{TokenSource::Kind::Bearer, {}});
    CHECK(parse_token_source("cookie:session", error) == TokenSource{TokenSource::Kind::Cookie, "session"});
    CHECK(parse_token_source("query:access_token", error) ==
          TokenSource{TokenSource::Kind::Query, "access_token"});
    for (const char* bad : {"", "cookie", "cookie:", "query:", "body", "header:X", "cookie:a b", "query:a&b",
                            "cookie:a;b", "Cookie:a"}) {
        INFO(bad);
        error.clear();
        CHECK_FALSE(parse_token_source(bad, error));
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("bearer_token takes the Bearer scheme only", "[plugins][jwt]") {
    CHECK(bearer_token("Bearer abc") == std::string_view("abc"));
    CHECK(bearer_token("bearer   abc ") == std::string_view("abc"));
    CHECK(bearer_token("BEARER\tabc") == std::string_view("abc"));
    CHECK_FALSE(bearer_token("Basic dXNlcjpwYXNz"));
    CHECK_FALSE(bearer_token("Bearer"));
    CHECK_FALSE(bearer_token("Bearer   "));
    CHECK_FALSE(bearer_token("Bearerabc"));
    CHECK_FALSE(bearer_token(""));
}

TEST_CASE("cookie_value finds one cookie among several", "[plugins][jwt]") {
    CHECK(cookie_value("session=t1", "session") == std::string_view("t1"));
    CHECK(cookie_value("a=1; session=t2; b=3", "session") == std::string_view("t2"));
    CHECK(cookie_value("a=1;session=t3", "session") == std::string_view("t3"));
    CHECK(cookie_value("session=\"t4\"", "session") == std::string_view("t4"));
    CHECK(cookie_value("session=", "session") == std::string_view(""));
    CHECK(cookie_value("xsession=1; session=t5", "session") == std::string_view("t5"));
    CHECK(cookie_value("session=a=b", "session") == std::string_view("a=b"));
    CHECK_FALSE(cookie_value("sessionx=1; other=2", "session"));
    CHECK_FALSE(cookie_value("session", "session"));
    CHECK_FALSE(cookie_value("", "session"));
    CHECK_FALSE(cookie_value(";;;", "session"));
}

TEST_CASE("find_token tries the sources in order", "[plugins][jwt]") {
    auto all = sources({"header", "cookie:session", "query:access_token"});
    CHECK(find_token(head_with({{"authorization", "Bearer from-header"}, {"Cookie", "session=from-cookie"}},
                               "access_token=from-query"),
                     all) == "from-header");
    CHECK(find_token(head_with({{"Authorization", "Basic xyz"}, {"Cookie", "session=from-cookie"}},
                               "access_token=from-query"),
                     all) == "from-cookie");
    CHECK(find_token(head_with({{"Cookie", "other=1"}, {"cookie", "session=second-header"}}), all) ==
          "second-header");
    CHECK(find_token(head_with({{"Cookie", "session="}}, "x=1&access_token=a%2Eb.c"), all) == "a.b.c");
    CHECK(find_token(head_with({}, "access_token="), all) == "");
    CHECK(find_token(head_with({}), all) == "");
    // Only the configured sources count.
    CHECK(find_token(head_with({{"Authorization", "Bearer h"}}, "access_token=q"), sources({"query:access_token"})) ==
          "q");
    CHECK(find_token(head_with({{"Authorization", "Bearer h"}}), sources({"cookie:session"})) == "");
    // The default: the Authorization header only.
    CHECK(find_token(head_with({{"Authorization", "Bearer h"}}, "access_token=q"), Options{}.from) == "h");
    CHECK(find_token(head_with({}, "access_token=q"), Options{}.from) == "");
}
