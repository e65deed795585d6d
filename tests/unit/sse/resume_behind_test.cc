// A client claiming N above this loop's head, on a sequenced channel (soak finding: the
// client got {N, N} as a gap and then event N a second time).
#include <catch2/catch.hpp>

#include "gateway/sse/resume_behind.h"

using namespace sluice;

namespace {

history::StoredEvent held(uint64_t pos, std::string type = "chunk") {
    history::StoredEvent ev;
    ev.position = pos;
    ev.type = std::move(type);
    return ev;
}

const std::vector<std::string> kTerminal{"done", "error"};

}  // namespace

TEST_CASE("behind: the broker holds N, so the stream continues after N without a gap",
          "[sse][resume]") {
    auto d = sse::resume_when_loop_behind(7, {held(7)}, kTerminal);
    REQUIRE(d);
    CHECK(d->action == sse::ResumeDecision::Action::Stream);
    CHECK_FALSE(d->gap);
    CHECK(d->next == 8);
}

TEST_CASE("behind: N is the terminal event, so the channel has ended (204)", "[sse][resume]") {
    auto d = sse::resume_when_loop_behind(7, {held(7, "done")}, kTerminal);
    REQUIRE(d);
    CHECK(d->action == sse::ResumeDecision::Action::NoContent);
    CHECK_FALSE(sse::resume_when_loop_behind(7, {held(7, "done")}, {})->action ==
                sse::ResumeDecision::Action::NoContent);  // terminal: [] turns it off
}

TEST_CASE("behind: the broker does not hold N, so the usual rules decide", "[sse][resume]") {
    CHECK_FALSE(sse::resume_when_loop_behind(7, {}, kTerminal));
    CHECK_FALSE(sse::resume_when_loop_behind(7, {held(6), held(8)}, kTerminal));
}
