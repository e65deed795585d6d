#include "gateway/core/timer_wheel.h"

namespace sluice {

TimerWheel::TimerWheel(uint64_t tick_ms, uint64_t now_ms, size_t slots)
    : slots_(slots), tick_ms_(tick_ms == 0 ? 1 : tick_ms), now_tick_(now_ms / tick_ms_) {
    for (auto& s : slots_) s.prev = s.next = &s;
}

TimerWheel::~TimerWheel() {
    // Leave owners' entries in a clean state so their destructors need no wheel.
    for (auto& s : slots_) {
        while (s.next != &s) unlink(*s.next);
    }
}

void TimerWheel::link_after(Entry& head, Entry& e) {
    e.prev = &head;
    e.next = head.next;
    head.next->prev = &e;
    head.next = &e;
}

void TimerWheel::unlink(Entry& e) {
    e.prev->next = e.next;
    e.next->prev = e.prev;
    e.prev = e.next = nullptr;
}

void TimerWheel::schedule(Entry& e, uint64_t delay_ms) {
    if (e.armed()) cancel(e);
    uint64_t ticks = (delay_ms + tick_ms_ - 1) / tick_ms_;
    if (ticks == 0) ticks = 1;
    e.due_tick = now_tick_ + ticks;
    link_after(slots_[e.due_tick % slots_.size()], e);
    ++armed_;
}

void TimerWheel::cancel(Entry& e) {
    if (!e.armed()) return;
    unlink(e);
    --armed_;
}

void TimerWheel::advance(uint64_t now_ms) {
    uint64_t target = now_ms / tick_ms_;
    // Visit at most one full turn of slots; entries further out stay where they are.
    uint64_t steps = target > now_tick_ ? target - now_tick_ : 0;
    if (steps > slots_.size()) steps = slots_.size();
    uint64_t first = target - steps + 1;
    now_tick_ = target;
    for (uint64_t t = first; t <= target; ++t) {
        Entry& head = slots_[t % slots_.size()];
        // Move the slot's entries to a local list so callbacks that cancel or
        // re-schedule entries of this slot always see a consistent list.
        Entry pending;
        pending.prev = pending.next = &pending;
        while (head.next != &head) {
            Entry* e = head.next;
            unlink(*e);
            link_after(pending, *e);
        }
        while (pending.next != &pending) {
            Entry* e = pending.next;
            unlink(*e);
            if (e->due_tick <= target) {
                --armed_;
                e->fn(e->owner);
            } else {
                link_after(head, *e);
            }
        }
    }
}

}  // namespace sluice
