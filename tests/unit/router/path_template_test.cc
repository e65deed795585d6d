// Path and channel templates: parsing, matching, decoding, expansion, fits.
#include <catch2/catch.hpp>

#include "gateway/router/path_template.h"

using namespace sluice::router;

namespace {

PathTemplate path(std::string_view text) {
    std::string err;
    auto t = PathTemplate::parse(text, &err);
    INFO(err);
    REQUIRE(t);
    return *t;
}

ChannelTemplate channel(std::string_view text) {
    std::string err;
    auto t = ChannelTemplate::parse(text, &err);
    INFO(err);
    REQUIRE(t);
    return *t;
}

}  // namespace

TEST_CASE("valid_channel_value accepts [A-Za-z0-9_.:-]{1,128}", "[router]") {
    CHECK(valid_channel_value("42"));
    CHECK(valid_channel_value("a-B_c.d:9"));
    CHECK(valid_channel_value(std::string(128, 'x')));
    CHECK_FALSE(valid_channel_value(""));
    CHECK_FALSE(valid_channel_value(std::string(129, 'x')));
    CHECK_FALSE(valid_channel_value("*"));
    CHECK_FALSE(valid_channel_value("a?b"));
    CHECK_FALSE(valid_channel_value("a b"));
    CHECK_FALSE(valid_channel_value("a/b"));
    CHECK_FALSE(valid_channel_value(std::string("a\0b", 3)));
    CHECK_FALSE(valid_channel_value("caf\xc3\xa9"));
}

TEST_CASE("path template parse rejects malformed templates", "[router]") {
    std::string err;
    CHECK_FALSE(PathTemplate::parse("", &err));
    CHECK_FALSE(PathTemplate::parse("api/{id}", &err));
    CHECK_FALSE(err.empty());
    CHECK_FALSE(PathTemplate::parse("/a/x{id}", &err));
    CHECK_FALSE(PathTemplate::parse("/a/{id}x", &err));
    CHECK_FALSE(PathTemplate::parse("/a/{id", &err));
    CHECK_FALSE(PathTemplate::parse("/a/id}", &err));
    CHECK_FALSE(PathTemplate::parse("/a/{}", &err));
    CHECK_FALSE(PathTemplate::parse("/a/{1id}", &err));
    CHECK_FALSE(PathTemplate::parse("/a/{i-d}", &err));
    CHECK_FALSE(PathTemplate::parse("/a/{id}/{id}", &err));
    CHECK(err.find("twice") != std::string::npos);
    // A null error pointer is allowed.
    CHECK_FALSE(PathTemplate::parse("x", nullptr));
}

TEST_CASE("path template lists its capture names in order", "[router]") {
    auto t = path("/rooms/{room}/users/{_user1}");
    CHECK(t.capture_names() == std::vector<std::string>{"room", "_user1"});
}

TEST_CASE("path template matches literal and captured segments", "[router]") {
    auto t = path("/api/analysis/{id}/stream");
    Captures caps;
    REQUIRE(t.match("/api/analysis/42/stream", caps));
    CHECK(caps == Captures{{"id", "42"}});

    CHECK_FALSE(t.match("/api/analysis/42/stream/", caps));
    CHECK(caps.empty());
    CHECK_FALSE(t.match("/api/analysis/42", caps));
    CHECK_FALSE(t.match("/api/analysis//stream", caps));  // empty capture
    CHECK_FALSE(t.match("/api/analysis/4/2/stream", caps));
    CHECK_FALSE(t.match("/api/Analysis/42/stream", caps));  // literals are case-sensitive
    CHECK_FALSE(t.match("api/analysis/42/stream", caps));
    CHECK_FALSE(t.match("", caps));
}

TEST_CASE("path template trailing slash matters", "[router]") {
    Captures caps;
    auto a = path("/a");
    auto a_slash = path("/a/");
    CHECK(a.match("/a", caps));
    CHECK_FALSE(a.match("/a/", caps));
    CHECK(a_slash.match("/a/", caps));
    CHECK_FALSE(a_slash.match("/a", caps));
    auto root = path("/");
    CHECK(root.match("/", caps));
    CHECK_FALSE(root.match("/a", caps));
}

TEST_CASE("path template captures are percent-decoded", "[router]") {
    auto t = path("/x/{a}/{b}");
    Captures caps;
    REQUIRE(t.match("/x/%2A/a%20b%3a", caps));
    CHECK(caps == Captures{{"a", "*"}, {"b", "a b:"}});
    REQUIRE(t.match("/x/a+b/%41", caps));
    CHECK(caps == Captures{{"a", "a+b"}, {"b", "A"}});  // '+' is not a space in paths
}

TEST_CASE("path template: a bad escape in a capture is no match", "[router]") {
    auto t = path("/x/{a}");
    Captures caps{{"stale", "value"}};
    CHECK_FALSE(t.match("/x/%", caps));
    CHECK(caps.empty());
    CHECK_FALSE(t.match("/x/%4", caps));
    CHECK_FALSE(t.match("/x/%zz", caps));
    CHECK_FALSE(t.match("/x/ab%g1", caps));
}

TEST_CASE("path template literal segments compare raw", "[router]") {
    // Literal escapes are not decoded: the request must spell them the same way.
    auto t = path("/a%20b/{id}");
    Captures caps;
    CHECK(t.match("/a%20b/1", caps));
    CHECK_FALSE(t.match("/a b/1", caps));
    CHECK_FALSE(t.match("/a%20B/1", caps));
}

TEST_CASE("path template and prefix grammar: the messages the config check shows", "[router]") {
    std::string err;
    CHECK_FALSE(PathTemplate::parse("/a//b", &err));
    CHECK(err == "empty segment ('//') in path");
    CHECK_FALSE(PathTemplate::parse("/a b", &err));
    CHECK(err == "invalid character ' ' (space) in path");
    CHECK_FALSE(PathTemplate::parse("/a?x=1", &err));
    CHECK(err == "a path cannot contain a query or fragment ('?', '#')");
    CHECK_FALSE(PathTemplate::parse("/a/{id}/{id}", &err));
    CHECK(err == "capture {id} appears twice");
    CHECK(path("/a/").capture_names().empty());  // only the last segment may be empty

    CHECK(check_prefix("/api/").empty());
    CHECK(check_prefix("/api/{v}") == "a prefix is literal; use 'path' for {captures}");
    CHECK(check_prefix("/a%2") == "bad percent escape in 'a%2' (expected %XX)");

    CHECK_FALSE(ChannelTemplate::parse("a b", &err));
    CHECK(err == "invalid character ' ' (space) in channel (allowed: letters, digits and _ . : -)");
}

TEST_CASE("channel template parse", "[router]") {
    std::string err;
    CHECK_FALSE(ChannelTemplate::parse("", &err));
    CHECK_FALSE(ChannelTemplate::parse("a:{id", &err));
    CHECK_FALSE(ChannelTemplate::parse("a:id}", &err));
    CHECK_FALSE(ChannelTemplate::parse("a:{}", &err));
    CHECK_FALSE(ChannelTemplate::parse("a:{9}", &err));
    CHECK_FALSE(ChannelTemplate::parse("a:{id}:{id}", &err));
    CHECK_FALSE(err.empty());

    auto t = channel("analysis:{id}:{part}");
    CHECK(t.text() == "analysis:{id}:{part}");
    CHECK(t.placeholder_names() == std::vector<std::string>{"id", "part"});
    CHECK(channel("news").placeholder_names().empty());
}

TEST_CASE("channel template expand", "[router]") {
    auto t = channel("analysis:{id}");
    ChannelTemplate::ExpandError e = ChannelTemplate::ExpandError::InvalidValue;
    auto ch = t.expand({{"id", "42"}}, &e);
    REQUIRE(ch);
    CHECK(*ch == "analysis:42");
    CHECK(e == ChannelTemplate::ExpandError::None);

    CHECK_FALSE(t.expand({{"other", "42"}}, &e));
    CHECK(e == ChannelTemplate::ExpandError::MissingCapture);

    for (const char* bad : {"*", "a b", "?", "", "a[1]"}) {
        INFO(bad);
        CHECK_FALSE(t.expand({{"id", bad}}, &e));
        CHECK(e == ChannelTemplate::ExpandError::InvalidValue);
    }
    CHECK_FALSE(t.expand({{"id", std::string(129, 'a')}}, &e));
    CHECK(e == ChannelTemplate::ExpandError::InvalidValue);

    auto literal = channel("news");
    ch = literal.expand({}, nullptr);
    REQUIRE(ch);
    CHECK(*ch == "news");

    auto two = channel("{a}-{b}");
    ch = two.expand({{"b", "2"}, {"a", "1"}}, &e);
    REQUIRE(ch);
    CHECK(*ch == "1-2");
}

TEST_CASE("a decoded %2A capture is rejected by expand", "[router]") {
    auto p = path("/api/analysis/{id}/stream");
    auto c = channel("analysis:{id}");
    Captures caps;
    REQUIRE(p.match("/api/analysis/%2A/stream", caps));
    ChannelTemplate::ExpandError e{};
    CHECK_FALSE(c.expand(caps, &e));
    CHECK(e == ChannelTemplate::ExpandError::InvalidValue);
}

TEST_CASE("channel template fits", "[router]") {
    auto t = channel("analysis:{id}");
    CHECK(t.fits("analysis:42"));
    CHECK(t.fits("analysis:a:b"));  // ':' is a channel character
    CHECK_FALSE(t.fits("analysis:"));
    CHECK_FALSE(t.fits("analysis"));
    CHECK_FALSE(t.fits("other:42"));
    CHECK_FALSE(t.fits("analysis:4 2"));
    CHECK_FALSE(t.fits("analysis:*"));
    CHECK_FALSE(t.fits("xanalysis:42"));

    auto literal = channel("news");
    CHECK(literal.fits("news"));
    CHECK_FALSE(literal.fits("news2"));
    CHECK_FALSE(literal.fits("new"));

    auto mid = channel("a:{x}:b:{y}");
    CHECK(mid.fits("a:1:b:2"));
    CHECK(mid.fits("a:1:b:2:b:3"));  // needs a choice of split, not just the first ':b:'
    CHECK_FALSE(mid.fits("a:1:b:"));
    CHECK_FALSE(mid.fits("a::b:2"));

    auto suffix = channel("{id}.events");
    CHECK(suffix.fits("x.events"));
    CHECK(suffix.fits("x.events.events"));
    CHECK_FALSE(suffix.fits(".events"));

    auto adjacent = channel("{a}{b}");
    CHECK(adjacent.fits("xy"));
    CHECK_FALSE(adjacent.fits("x"));
}

TEST_CASE("channel template fits stays fast on adversarial input", "[router]") {
    auto t = channel("{a}:{b}:{c}:{d}:{e}:x");
    std::string ch(5000, ':');
    CHECK_FALSE(t.fits(ch));  // would be exponential with naive backtracking
    ch += "x";
    CHECK(t.fits(ch));
}
