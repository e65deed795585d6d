// A hashed timing wheel: one per event loop, driven by a single repeating uv_timer,
// so idle connections cost an intrusive list node instead of a uv_timer_t each.
// Pure (no libuv): the owner calls advance() with the current time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice {

class TimerWheel {
  public:
    // Embedded in the object that owns the timeout. Firing calls fn(owner).
    struct Entry {
        Entry* prev = nullptr;
        Entry* next = nullptr;
        uint64_t due_tick = 0;
        void* owner = nullptr;
        void (*fn)(void* owner) = nullptr;
        bool armed() const { return next != nullptr; }
    };

    TimerWheel(uint64_t tick_ms, uint64_t now_ms, size_t slots = 1024);
    ~TimerWheel();
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    // (Re)arms e to fire no earlier than delay_ms from the last advance() time
    // (rounded up to the next tick).
    void schedule(Entry& e, uint64_t delay_ms);
    void cancel(Entry& e);

    // Fires every entry due at or before now_ms. Callbacks may schedule or cancel any
    // entry, including themselves.
    void advance(uint64_t now_ms);

    uint64_t tick_ms() const { return tick_ms_; }
    size_t armed_count() const { return armed_; }

  private:
    static void link_after(Entry& head, Entry& e);
    static void unlink(Entry& e);
    std::vector<Entry> slots_;  // sentinel heads of circular lists
    uint64_t tick_ms_;
    uint64_t now_tick_;
    size_t armed_ = 0;
};

}  // namespace sluice
