#include "gateway/core/rate_window.h"

#include <catch2/catch.hpp>

using sluice::RateWindow;

TEST_CASE("a rate window trips only past its limit within one window", "[core][h2]") {
    RateWindow w(1000, 3);
    CHECK_FALSE(w.add(0));
    CHECK_FALSE(w.add(10));
    CHECK_FALSE(w.add(20));
    CHECK(w.add(30));  // the fourth within a second
}

TEST_CASE("a new window starts the count again", "[core][h2]") {
    RateWindow w(1000, 2);
    CHECK_FALSE(w.add(0));
    CHECK_FALSE(w.add(500));
    CHECK_FALSE(w.add(1000));  // a new window
    CHECK(w.count() == 1);
    CHECK_FALSE(w.add(1999));
    CHECK(w.add(1999));
}
