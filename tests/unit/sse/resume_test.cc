// decide_resume, one test per case of the rules in resume.h / docs/protocol.md.
#include <catch2/catch.hpp>

#include "gateway/core/position.h"
#include "gateway/sse/resume.h"

using namespace sluice::sse;
using Action = ResumeDecision::Action;

namespace {

ChannelWindow window(uint64_t head, uint64_t oldest, std::optional<uint64_t> terminal = {}) {
    return ChannelWindow{head, oldest, terminal};
}

ResumeRequest at(uint64_t n) { return ResumeRequest{n, Start::Earliest}; }

ResumeRequest fresh(Start s) { return ResumeRequest{std::nullopt, s}; }

}  // namespace

TEST_CASE("resume: no position, start earliest -> oldest held", "[sse]") {
    auto d = decide_resume(fresh(Start::Earliest), window(10, 4));
    CHECK(d.action == Action::Stream);
    CHECK_FALSE(d.gap);
    CHECK(d.next == 4);
}

TEST_CASE("resume: no position, start latest -> live only", "[sse]") {
    auto d = decide_resume(fresh(Start::Latest), window(10, 4));
    CHECK(d.action == Action::Stream);
    CHECK_FALSE(d.gap);
    CHECK(d.next == 11);
}

TEST_CASE("resume: empty channel (head 0)", "[sse]") {
    auto d = decide_resume(fresh(Start::Earliest), window(0, 1));
    CHECK(d.action == Action::Stream);
    CHECK_FALSE(d.gap);
    CHECK(d.next == 1);
    d = decide_resume(fresh(Start::Latest), window(0, 1));
    CHECK(d.next == 1);
    d = decide_resume(at(0), window(0, 1));
    CHECK_FALSE(d.gap);
    CHECK(d.next == 1);
}

TEST_CASE("resume: N == head -> nothing to replay, no gap", "[sse]") {
    auto d = decide_resume(at(10), window(10, 4));
    CHECK(d.action == Action::Stream);
    CHECK_FALSE(d.gap);
    CHECK(d.next == 11);
}

TEST_CASE("resume: N inside the window -> replay from N+1", "[sse]") {
    auto d = decide_resume(at(6), window(10, 4));
    CHECK(d.action == Action::Stream);
    CHECK_FALSE(d.gap);
    CHECK(d.next == 7);
}

TEST_CASE("resume: N older than the window -> gap N+1..oldest-1", "[sse]") {
    auto d = decide_resume(at(1), window(10, 4));
    CHECK(d.action == Action::Stream);
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{2, 3});
    CHECK(d.next == 4);

    d = decide_resume(at(0), window(10, 4));
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{1, 3});
    CHECK(d.next == 4);
}

TEST_CASE("resume: N == oldest-1 -> no gap", "[sse]") {
    auto d = decide_resume(at(3), window(10, 4));
    CHECK_FALSE(d.gap);
    CHECK(d.next == 4);
}

TEST_CASE("resume: history empty after eviction, N < head -> gap N+1..head", "[sse]") {
    auto d = decide_resume(at(5), window(10, 11));
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{6, 10});
    CHECK(d.next == 11);
}

TEST_CASE("resume: N > head -> reset gap 1..N, then the new history from its oldest",
          "[sse]") {
    // The channel started over (lost, or its head expired): it now has 1..10 of which
    // 4..10 are held. The client's count is void; the new events are not skipped.
    auto d = decide_resume(at(15), window(10, 4));
    CHECK(d.action == Action::Stream);
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{1, 15, true});
    CHECK(d.next == 4);

    d = decide_resume(at(15), window(3, 1));  // the whole new history 1..3 is held
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{1, 15, true});
    CHECK(d.next == 1);
}

TEST_CASE("resume: N == head + 1 is already a reset", "[sse]") {
    auto d = decide_resume(at(4), window(3, 1));
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{1, 4, true});
    CHECK(d.next == 1);
}

TEST_CASE("resume: head 0 and N > 0 (lost history) -> reset gap 1..N", "[sse]") {
    auto d = decide_resume(at(7), window(0, 1));
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{1, 7, true});
    CHECK(d.next == 1);
}

TEST_CASE("resume: an evicted-history gap is not a reset", "[sse]") {
    auto d = decide_resume(at(1), window(10, 4));
    REQUIRE(d.gap);
    CHECK_FALSE(d.gap->reset);
    d = decide_resume(at(5), window(10, 11));  // everything expired: {N+1, head}
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{6, 10, false});
}

TEST_CASE("resume: 204 comes before the reset gap", "[sse]") {
    // The channel ended at 3 (its head); a client claiming 9 gets 204, not a reset.
    auto d = decide_resume(at(9), window(3, 1, 3));
    CHECK(d.action == Action::NoContent);
    CHECK_FALSE(d.gap);
}

TEST_CASE("resume: terminal T and N == T -> 204", "[sse]") {
    auto d = decide_resume(at(10), window(10, 4, 10));
    CHECK(d.action == Action::NoContent);
    CHECK_FALSE(d.gap);
}

TEST_CASE("resume: terminal T and N > T -> 204, before the gap rule", "[sse]") {
    auto d = decide_resume(at(12), window(10, 4, 10));
    CHECK(d.action == Action::NoContent);
    CHECK_FALSE(d.gap);
}

TEST_CASE("resume: terminal T and N < T -> stream the rest", "[sse]") {
    auto d = decide_resume(at(8), window(10, 4, 10));
    CHECK(d.action == Action::Stream);
    CHECK_FALSE(d.gap);
    CHECK(d.next == 9);

    d = decide_resume(at(1), window(10, 4, 10));  // N < T and older than the window
    CHECK(d.action == Action::Stream);
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{2, 3});
    CHECK(d.next == 4);
}

TEST_CASE("resume: terminal and no position -> stream from oldest", "[sse]") {
    auto d = decide_resume(fresh(Start::Earliest), window(10, 4, 10));
    CHECK(d.action == Action::Stream);
    CHECK_FALSE(d.gap);
    CHECK(d.next == 4);
}

TEST_CASE("resume: positions at the top of the range do not wrap", "[sse]") {
    const uint64_t max = sluice::kMaxPosition;
    auto d = decide_resume(at(max), window(10, 4));
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{1, max, true});
    CHECK(d.next == 4);
    // A channel whose head is the largest position: N + 1 and head + 1 stay in range.
    d = decide_resume(at(max), window(max, max));
    CHECK_FALSE(d.gap);
    CHECK(d.next == max + 1);
    d = decide_resume(at(max - 5), window(max, max));
    REQUIRE(d.gap);
    CHECK(*d.gap == Gap{max - 4, max - 1});
    CHECK(d.next == max);
    d = decide_resume(fresh(Start::Latest), window(max, max + 1));
    CHECK(d.next == max + 1);
}
