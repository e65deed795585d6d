// Channel templates as Redis PSUBSCRIBE patterns.
#include <catch2/catch.hpp>

#include "gateway/broker/redis_glob.h"

using namespace sluice;

namespace {

router::ChannelTemplate channel(std::string_view text) {
    std::string err;
    auto t = router::ChannelTemplate::parse(text, &err);
    INFO(err);
    REQUIRE(t);
    return *t;
}

}  // namespace

TEST_CASE("redis_glob: placeholders become '*', literal text stays", "[broker]") {
    CHECK(broker::redis_glob(channel("analysis:{id}")) == "analysis:*");
    CHECK(broker::redis_glob(channel("news")) == "news");
    CHECK(broker::redis_glob(channel("a:{x}:b:{y}")) == "a:*:b:*");
    CHECK(broker::redis_glob(channel("{a}-{b}")) == "*-*");
    CHECK(broker::redis_glob(channel("t.x_1-y:{id}")) == "t.x_1-y:*");
}

TEST_CASE("redis_glob: no glob metacharacter can reach a pattern unescaped", "[broker]") {
    // The channel grammar admits none of them, so a literal never widens the pattern.
    std::string err;
    for (const char* text : {"q?", "a*", "[x]", "a\\b", "a:{id}*"}) {
        INFO(text);
        CHECK_FALSE(router::ChannelTemplate::parse(text, &err));
    }
}
