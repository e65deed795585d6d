// LazyDeque (issue 12, memory per idle stream): a deque that holds no allocation while
// empty must still behave as one for everything ChannelHistory does with it.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "gateway/history/lazy_deque.h"

using sluice::history::LazyDeque;

namespace {

std::vector<int> contents(const LazyDeque<int>& d) { return {d.begin(), d.end()}; }

}  // namespace

TEST_CASE("an empty lazy deque iterates over nothing, before and after use", "[history][lazy_deque]") {
    LazyDeque<int> d;
    CHECK(d.empty());
    CHECK(d.size() == 0);
    CHECK(d.begin() == d.end());
    d.push_back(1);
    d.pop_front();
    CHECK(d.empty());
    CHECK(d.begin() == d.end());
    d.push_back(2);
    d.clear();
    CHECK(d.empty());
    CHECK(contents(d).empty());
}

TEST_CASE("a lazy deque keeps order at both ends", "[history][lazy_deque]") {
    LazyDeque<int> d;
    d.push_back(3);
    d.push_back(4);
    d.push_front(2);
    d.push_front(1);
    CHECK(contents(d) == std::vector<int>{1, 2, 3, 4});
    CHECK(d.front() == 1);
    CHECK(d.back() == 4);
    d.pop_front();
    CHECK(contents(d) == std::vector<int>{2, 3, 4});
    CHECK(d.size() == 3);
}

TEST_CASE("what a lazy deque held is released when it empties", "[history][lazy_deque]") {
    // The channel's ring holds shared events: letting go of the last one must free it.
    auto ev = std::make_shared<int>(7);
    std::weak_ptr<int> watch = ev;
    LazyDeque<std::shared_ptr<int>> d;
    d.push_back(std::move(ev));
    CHECK_FALSE(watch.expired());
    d.pop_front();
    CHECK(watch.expired());
}
