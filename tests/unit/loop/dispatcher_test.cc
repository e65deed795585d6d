// The per-loop dispatcher on a real libuv loop: ordering of defer and post, re-entrancy
// (a deferred call that defers again runs on the next turn), deferred delete (after the
// callback that dropped the object, exactly once), the flush list, and a clean close.
#include <catch2/catch.hpp>

#include <uv.h>

#include <algorithm>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/loop/dispatcher.h"

using sluice::loop::Dispatcher;
using sluice::loop::Flushable;

namespace {

struct TestLoop {
    uv_loop_t loop{};
    std::unique_ptr<Dispatcher> d;
    int turns = 0;  // end-of-turn hooks run so far

    TestLoop() {
        uv_loop_init(&loop);
        d = std::make_unique<Dispatcher>(&loop, 10);
        d->set_turn_hook([this] { ++turns; });
    }
    void turn() { uv_run(&loop, UV_RUN_NOWAIT); }
    template <class F> void run_until(F done) {
        for (int i = 0; i < 100000 && !done(); ++i) uv_run(&loop, UV_RUN_ONCE);
        REQUIRE(done());
    }
    ~TestLoop() {
        d->close();
        uv_run(&loop, UV_RUN_DEFAULT);
        d->run_remaining();
        d.reset();
        CHECK(uv_loop_close(&loop) == 0);
    }
};

struct Counted {
    explicit Counted(int* deaths) : deaths_(deaths) {}
    ~Counted() { ++*deaths_; }
    int* deaths_;
};

struct Probe final : Flushable {
    std::vector<std::string>* log = nullptr;
    std::string name;
    void flush_now() override { log->push_back(name); }
};

}  // namespace

TEST_CASE("deferred calls run after the call that deferred them, in order", "[loop][dispatcher]") {
    TestLoop t;
    std::vector<int> seen;
    t.d->defer([&] { seen.push_back(1); });
    t.d->defer([&] { seen.push_back(2); });
    CHECK(seen.empty());  // never inside defer()
    t.turn();
    CHECK(seen == std::vector<int>{1, 2});
}

TEST_CASE("a call deferred from a deferred call runs after it, in the same turn", "[loop][dispatcher]") {
    TestLoop t;
    std::vector<int> seen;
    std::vector<int> turn_of;
    t.d->defer([&] {
        turn_of.push_back(t.turns);
        t.d->defer([&] {
            seen.push_back(2);
            turn_of.push_back(t.turns);
        });
        seen.push_back(1);  // the inner call never runs inside the outer one
    });
    t.run_until([&] { return turn_of.size() == 2; });
    CHECK(seen == std::vector<int>{1, 2});
    CHECK(turn_of[1] == turn_of[0]);
}

TEST_CASE("a call that keeps deferring itself goes on over later turns", "[loop][dispatcher]") {
    TestLoop t;
    std::vector<int> turn_of;
    std::function<void()> step = [&] {
        turn_of.push_back(t.turns);
        if (turn_of.size() < 200) t.d->defer(step);
    };
    t.d->defer(step);
    t.run_until([&] { return turn_of.size() == 200; });
    // At most 64 rounds per turn: 200 steps need at least 4 turns, and the loop turned.
    CHECK(turn_of.back() - turn_of.front() >= 3);
    CHECK(std::count(turn_of.begin(), turn_of.end(), turn_of.front()) <= 64);
}

TEST_CASE("posted calls from other threads run on the loop thread in order", "[loop][dispatcher]") {
    TestLoop t;
    std::vector<int> seen;
    std::thread::id loop_thread = std::this_thread::get_id();
    bool on_loop_thread = true;
    std::thread other([&] {
        for (int i = 0; i < 3; ++i)
            CHECK(t.d->post([&, i] {
                on_loop_thread = on_loop_thread && std::this_thread::get_id() == loop_thread;
                seen.push_back(i);
            }));
    });
    other.join();
    t.run_until([&] { return seen.size() == 3; });
    CHECK(seen == std::vector<int>{0, 1, 2});
    CHECK(on_loop_thread);
}

TEST_CASE("a post after close is refused", "[loop][dispatcher]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        Dispatcher d(&loop, 10);
        d.close();
        bool ran = false;
        CHECK_FALSE(d.post([&] { ran = true; }));
        uv_run(&loop, UV_RUN_DEFAULT);
        d.run_remaining();
        CHECK_FALSE(ran);
    }
    CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("deferred delete runs after the current callback, exactly once", "[loop][dispatcher]") {
    TestLoop t;
    int deaths = 0;
    bool alive_in_callback = false;
    t.d->defer([&] {
        auto obj = std::make_unique<Counted>(&deaths);
        t.d->defer_delete(std::move(obj));
        alive_in_callback = deaths == 0;  // still alive after handing it over
        t.d->defer_delete(std::unique_ptr<Counted>());  // nothing to delete: ignored
    });
    t.turn();
    CHECK(alive_in_callback);
    CHECK(deaths == 1);
    t.turn();
    t.turn();
    CHECK(deaths == 1);
}

TEST_CASE("a destructor may hand over more objects to delete", "[loop][dispatcher]") {
    TestLoop t;
    int deaths = 0;
    struct Chain {
        Chain(Dispatcher* d_, int* deaths_, bool next_) : d(d_), deaths(deaths_), next(next_) {}
        ~Chain() {
            ++*deaths;
            if (next) d->defer_delete(std::make_unique<Chain>(d, deaths, false));
        }
        Dispatcher* d;
        int* deaths;
        bool next;
    };
    t.d->defer_delete(std::make_unique<Chain>(t.d.get(), &deaths, true));
    t.turn();
    CHECK(deaths == 2);
    int settled = deaths;
    t.turn();
    CHECK(deaths == settled);
}

TEST_CASE("the flush list flushes each stream once per turn, skipping destroyed ones", "[loop][dispatcher]") {
    TestLoop t;
    std::vector<std::string> log;
    Probe a;
    a.log = &log;
    a.name = "a";
    auto b = std::make_unique<Probe>();
    b->log = &log;
    b->name = "b";
    t.d->schedule_flush(a);
    t.d->schedule_flush(*b);
    t.d->schedule_flush(a);
    b.reset();  // leaves the list
    t.turn();
    CHECK(log == std::vector<std::string>{"a"});
    t.turn();
    CHECK(log.size() == 1);
}

TEST_CASE("deferred calls run before the turn hook and the flush", "[loop][dispatcher]") {
    TestLoop t;
    std::vector<std::string> log;
    Probe p;
    p.log = &log;
    p.name = "flush";
    t.d->set_turn_hook([&] { log.push_back("hook"); });
    t.d->schedule_flush(p);
    t.d->defer([&] { log.push_back("deferred"); });
    t.turn();
    CHECK(log == std::vector<std::string>{"deferred", "hook", "flush"});
}
