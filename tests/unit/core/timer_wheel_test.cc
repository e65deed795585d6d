#include <catch2/catch.hpp>

#include <vector>

#include "gateway/core/timer_wheel.h"

using sluice::TimerWheel;

namespace {
struct Probe {
    TimerWheel::Entry entry;
    int fired = 0;
    TimerWheel* wheel = nullptr;
    uint64_t reschedule_ms = 0;  // re-arm from the callback when non-zero
    Probe() {
        entry.owner = this;
        entry.fn = [](void* p) {
            auto* self = static_cast<Probe*>(p);
            ++self->fired;
            if (self->reschedule_ms) self->wheel->schedule(self->entry, self->reschedule_ms);
        };
    }
};
}  // namespace

TEST_CASE("a timer fires once its delay has passed, not before", "[core][timer]") {
    TimerWheel wheel(100, 0, 16);
    Probe p;
    wheel.schedule(p.entry, 250);
    wheel.advance(200);
    CHECK(p.fired == 0);
    wheel.advance(300);
    CHECK(p.fired == 1);
    CHECK_FALSE(p.entry.armed());
    wheel.advance(1000);
    CHECK(p.fired == 1);
}

TEST_CASE("delays longer than one turn of the wheel wait for their round", "[core][timer]") {
    TimerWheel wheel(10, 0, 8);  // one turn = 80 ms
    Probe p;
    wheel.schedule(p.entry, 500);
    for (uint64_t t = 10; t < 500; t += 10) wheel.advance(t);
    CHECK(p.fired == 0);
    wheel.advance(500);
    CHECK(p.fired == 1);
}

TEST_CASE("a cancelled timer never fires and rescheduling moves it", "[core][timer]") {
    TimerWheel wheel(10, 0, 64);
    Probe a, b;
    wheel.schedule(a.entry, 50);
    wheel.schedule(b.entry, 50);
    wheel.cancel(a.entry);
    wheel.schedule(b.entry, 200);  // moved later
    wheel.advance(100);
    CHECK(a.fired == 0);
    CHECK(b.fired == 0);
    wheel.advance(200);
    CHECK(b.fired == 1);
    CHECK(wheel.armed_count() == 0);
}

TEST_CASE("a callback may re-arm its own timer", "[core][timer]") {
    // p is still armed at the end: it must outlive the wheel, whose destructor unlinks it
    // (in the gateway the owners cancel their entries before the wheel goes).
    Probe p;
    TimerWheel wheel(10, 0, 32);
    p.wheel = &wheel;
    p.reschedule_ms = 30;
    wheel.schedule(p.entry, 30);
    for (uint64_t t = 10; t <= 300; t += 10) wheel.advance(t);
    CHECK(p.fired == 10);
    CHECK(p.entry.armed());
}

TEST_CASE("a long stall fires everything that came due", "[core][timer]") {
    TimerWheel wheel(10, 0, 16);
    std::vector<Probe> probes(20);
    for (size_t i = 0; i < probes.size(); ++i) wheel.schedule(probes[i].entry, 10 * (i + 1));
    wheel.advance(100000);
    for (auto& p : probes) CHECK(p.fired == 1);
}
