#include "gateway/broker/memory_hub.h"

#include <algorithm>

#include "gateway/core/position.h"

namespace sluice::broker {

namespace {

// Buckets the incremental sweep looks at per new head: with the map's load factor at most
// 1 that is a few entries, and every bucket is visited once per bucket_count / 4 new
// heads, so expired heads cannot pile up faster than new ones arrive.
constexpr size_t kSweepBuckets = 4;

// steady_clock counts nanoseconds in 64 bits (about 292 years): a configured ttl is
// capped well below that so now + ttl cannot overflow.
constexpr MemoryHub::Millis kMaxTtl = std::chrono::hours(24 * 365 * 100);

Message make_message(const std::string& channel, uint64_t position, const std::string& event,
                     const std::string& payload, bool reset = false) {
    Message m{channel, position, event, payload};
    // The count started again: loops that still hold positions of the channel's previous
    // life (its head expired after positions_ttl, or Redis lost it) forget them first.
    m.reset = reset;
    return m;
}

}  // namespace

MemoryHub::MemoryHub(Millis positions_ttl, NowFn now)
    : default_ttl_(positions_ttl), now_(std::move(now)) {}

void MemoryHub::set_positions_ttl(TtlFn fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    ttl_fn_ = std::move(fn);
    ++ttl_generation_;
}

void MemoryHub::attach(Inbox* inbox) {
    std::lock_guard<std::mutex> lock(mutex_);
    inboxes_.push_back(inbox);
}

void MemoryHub::detach(Inbox* inbox) {
    std::lock_guard<std::mutex> lock(mutex_);
    inboxes_.erase(std::remove(inboxes_.begin(), inboxes_.end(), inbox), inboxes_.end());
}

std::vector<MemoryHub::Inbox*> MemoryHub::enqueue_locked(const MessagePtr& msg, Inbox* self) {
    std::vector<Inbox*> to_wake;
    // Queued under the hub lock: every inbox sees events in position order.
    for (Inbox* inbox : inboxes_) {
        std::lock_guard<std::mutex> inbox_lock(inbox->mutex);
        if (inbox->queue.empty() && inbox != self) to_wake.push_back(inbox);
        inbox->queue.push_back(msg);
    }
    return to_wake;
}

void MemoryHub::wake(const std::vector<Inbox*>& inboxes) {
    // A loop drains its whole queue per wake, so only the empty->non-empty edge wakes.
    for (Inbox* inbox : inboxes) inbox->wake();
}

MemoryHub::Head* MemoryHub::find_locked(const std::string& channel, Clock::time_point now) {
    auto it = heads_.find(channel);
    if (it == heads_.end() || now >= it->second.expires) return nullptr;
    return &it->second;
}

MemoryHub::Head& MemoryHub::get_locked(const std::string& channel, Clock::time_point now,
                                       bool* restarted) {
    if (restarted) *restarted = false;
    auto it = heads_.find(channel);
    if (it != heads_.end()) {
        if (now >= it->second.expires) {
            // positions_ttl has passed: the count starts again, and loops are told.
            it->second = Head{};
            if (restarted) *restarted = true;
            touch_locked(channel, it->second, now);
        }
        return it->second;
    }
    sweep_some_locked(now);  // before the insert: the new head is not yet touched
    Head& h = heads_[channel];
    touch_locked(channel, h, now);
    return h;
}

void MemoryHub::touch_locked(const std::string& channel, Head& head, Clock::time_point now) {
    if (head.ttl_generation != ttl_generation_) {
        head.ttl = std::min(ttl_fn_ ? ttl_fn_(channel) : default_ttl_, kMaxTtl);
        head.ttl_generation = ttl_generation_;
    }
    head.expires = now + head.ttl;
}

void MemoryHub::sweep_some_locked(Clock::time_point now) {
    const size_t buckets = heads_.bucket_count();
    if (buckets == 0) return;
    for (size_t step = 0; step < kSweepBuckets; ++step) {
        size_t b = sweep_cursor_++ % buckets;
        for (;;) {
            auto it = std::find_if(heads_.begin(b), heads_.end(b),
                                   [now](const auto& kv) { return now >= kv.second.expires; });
            if (it == heads_.end(b)) break;
            std::string key = it->first;  // erase by a copy, not by the node's own key
            heads_.erase(key);
        }
    }
    sweep_cursor_ %= buckets;
}

uint64_t MemoryHub::publish(const std::string& channel, const std::string& payload,
                            const std::string& event, Inbox* self) {
    std::vector<Inbox*> to_wake;
    uint64_t position = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Clock::time_point t = now();
        bool restarted = false;
        Head& head = get_locked(channel, t, &restarted);
        if (head.position >= kMaxPosition) return 0;  // no position left to give
        position = ++head.position;
        touch_locked(channel, head, t);
        to_wake = enqueue_locked(std::make_shared<const Message>(
                                     make_message(channel, position, event, payload, restarted)),
                                 self);
    }
    wake(to_wake);
    return position;
}

bool MemoryHub::deliver_sequenced(const std::string& channel, uint64_t position,
                                  const std::string& payload, const std::string& event) {
    if (!valid_position(position)) return false;
    std::vector<Inbox*> to_wake;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Clock::time_point t = now();
        bool restarted = false;
        Head& head = get_locked(channel, t, &restarted);
        head.sequenced = true;
        if (position <= head.position) return false;
        head.position = position;
        touch_locked(channel, head, t);
        // Redis started the count again too (its counter lives as long): a reset.
        bool reset = restarted && position == 1;
        to_wake = enqueue_locked(std::make_shared<const Message>(
            make_message(channel, position, event, payload, reset)));
    }
    wake(to_wake);
    return true;
}

void MemoryHub::skip_sequenced(const std::string& channel, uint64_t position) {
    if (!valid_position(position)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    Clock::time_point t = now();
    Head& head = get_locked(channel, t);
    head.sequenced = true;
    if (position > head.position) {
        head.position = position;
        touch_locked(channel, head, t);
    }
}

void MemoryHub::reset_sequenced(const std::string& channel, const std::string& payload,
                                const std::string& event) {
    std::vector<Inbox*> to_wake;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Clock::time_point t = now();
        Head& head = get_locked(channel, t);
        head.sequenced = true;
        head.position = 1;
        touch_locked(channel, head, t);
        to_wake = enqueue_locked(
            std::make_shared<const Message>(make_message(channel, 1, event, payload, true)));
    }
    wake(to_wake);
}

uint64_t MemoryHub::head(const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    Head* h = find_locked(channel, now());
    return h ? h->position : 0;
}

void MemoryHub::note_sequenced_head(const std::string& channel, uint64_t head) {
    if (!valid_position(head)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    Clock::time_point t = now();
    Head& h = get_locked(channel, t);
    h.sequenced = true;
    // Only a channel the hub has not delivered yet takes Redis's head. Once the hub
    // delivers a channel, its head must follow pub/sub: raising it to a head read on
    // another connection made the events in flight look like duplicates, and every loop
    // holding the channel lost them (a gap {N, N} over events Redis held).
    if (h.position == 0) {
        h.position = head;
        touch_locked(channel, h, t);  // Redis has the channel at this head right now
    }
}

std::vector<std::pair<std::string, uint64_t>> MemoryHub::sequenced_heads() {
    std::lock_guard<std::mutex> lock(mutex_);
    Clock::time_point t = now();
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& [name, h] : heads_)
        if (h.sequenced && t < h.expires) out.emplace_back(name, h.position);
    return out;
}

void MemoryHub::set_ready(bool ready) {
    std::vector<Inbox*> to_wake;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ready_.load() == ready) return;
        ready_.store(ready, std::memory_order_release);
        to_wake = enqueue_locked(std::make_shared<const Message>());
    }
    wake(to_wake);
}

void MemoryHub::with_head(const std::string& channel, const std::function<void(uint64_t)>& fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    Head* h = find_locked(channel, now());
    fn(h ? h->position : 0);
}

size_t MemoryHub::sweep() {
    std::lock_guard<std::mutex> lock(mutex_);
    Clock::time_point t = now();
    size_t forgotten = 0;
    for (auto it = heads_.begin(); it != heads_.end();) {
        if (t >= it->second.expires) {
            it = heads_.erase(it);
            ++forgotten;
        } else {
            ++it;
        }
    }
    return forgotten;
}

size_t MemoryHub::channel_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return heads_.size();
}

}  // namespace sluice::broker
