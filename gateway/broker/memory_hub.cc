#include "gateway/broker/memory_hub.h"

#include <algorithm>

#include "gateway/core/log.h"
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
    Message m;
    m.channel = channel;
    m.position = position;
    m.event = event;
    m.payload = payload;
    // The count started again: loops that still hold positions of the channel's previous
    // life (its head expired after positions_ttl, or Redis lost it) forget them first.
    m.reset = reset;
    return m;
}

}  // namespace

MemoryHub::MemoryHub(Millis positions_ttl, NowFn now)
    : default_ttl_(positions_ttl), now_(std::move(now)) {}

void MemoryHub::set_encoder(EncodeFn fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    encoder_ = std::move(fn);
}

MemoryHub::MessagePtr MemoryHub::build_locked(const Head& head, Message m) const {
    m.channel_id = head.id;
    if (encoder_) {
        m.stored = encoder_(m);
    } else {
        // No SSE encoder (unit tests of the hub): the payload stands in for the bytes.
        auto ev = std::make_shared<history::StoredEvent>();
        ev->position = m.position;
        ev->encoded = make_shared_bytes(m.payload);
        ev->at = history::Clock::now();
        m.stored = std::move(ev);
    }
    return std::make_shared<const Message>(std::move(m));
}

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
    // A loop that stops reads nothing any more (its inbox goes away with it).
    for (auto& [name, head] : heads_) {
        auto& in = head.interest;
        in.erase(std::remove(in.begin(), in.end(), inbox), in.end());
        if (in.empty()) history_.set_busy(head.history, false);
    }
}

std::vector<MemoryHub::Inbox*> MemoryHub::enqueue_locked(const MessagePtr& msg, Inbox* self) {
    return enqueue_to_locked(inboxes_, msg, self);
}

std::vector<MemoryHub::Inbox*> MemoryHub::deliver_event_locked(Head& head, const MessagePtr& msg,
                                                               Inbox* self) {
    // Stored once for the process; queued only to the loops reading the channel.
    if (msg->reset) history_.reset(head.history);
    if (msg->stored) history_.append(head.history, msg->channel, msg->stored);
    return enqueue_to_locked(head.interest, msg, self);
}

std::vector<MemoryHub::Inbox*> MemoryHub::enqueue_to_locked(const std::vector<Inbox*>& inboxes,
                                                            const MessagePtr& msg, Inbox* self) {
    std::vector<Inbox*> to_wake;
    // Each event once for the process, however many loops it is queued to.
    if (!msg->readiness_changed) events_received_.fetch_add(1, std::memory_order_relaxed);
    // Queued under the hub lock: every inbox sees events in position order.
    for (Inbox* inbox : inboxes) {
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
            // Only a count that had begun restarts visibly (a reader's entry had none).
            if (restarted) *restarted = it->second.position > 0;
            restart_locked(it->second);
            touch_locked(channel, it->second, now);
        }
        return it->second;
    }
    sweep_some_locked(now);  // before the insert: the new head is not yet touched
    Head& h = entry_locked(channel);
    touch_locked(channel, h, now);
    return h;
}

MemoryHub::Head& MemoryHub::entry_locked(const std::string& channel) {
    auto [it, inserted] = heads_.try_emplace(channel);
    if (inserted) it->second.id = next_id_++;
    return it->second;
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
                                   [now](const auto& kv) { return expired_erasable(kv.second, now); });
            if (it == heads_.end(b)) break;
            erase_locked(heads_.find(it->first));  // a map iterator, not the bucket's
        }
    }
    sweep_cursor_ %= buckets;
}

void MemoryHub::restart_locked(Head& head) {
    // The count starts again; the loops reading the channel stay interested.
    head.position = 0;
    head.ttl_generation = 0;
    head.sequenced = false;
    head.tip_digest = 0;
    head.reset_next = false;
    history_.reset(head.history);
}

void MemoryHub::erase_locked(Heads::iterator it) {
    history_.forget(it->second.history);
    heads_.erase(it);
}

bool MemoryHub::expired_erasable(const Head& head, Clock::time_point now) {
    // A head loops still read stays (expired: the next event restarts it in place).
    return now >= head.expires && head.interest.empty();
}

bool MemoryHub::admit_locked(Head& head) { return history_.admit(head.history, max_channels_); }

void MemoryHub::note_dropped(const std::string& channel, uint64_t position) {
    uint64_t n = dropped_at_cap_.fetch_add(1, std::memory_order_relaxed);
    // The first few and then every 1000th: a flood of new channels cannot flood the log.
    if (n < 10 || n % 1000 == 0)
        log::warn("channel limit reached (limits.max_channels); event from redis dropped",
                  {{"channel", channel}, {"position", position}, {"dropped_total", n + 1}});
}

uint64_t MemoryHub::publish(const std::string& channel, const std::string& payload,
                            const std::string& event, Inbox* self, AtCap at_cap) {
    std::vector<Inbox*> to_wake;
    uint64_t position = 0;
    bool admitted = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Clock::time_point t = now();
        // A refused publish to an unknown channel leaves no trace.
        if (at_cap == AtCap::Refuse && history_.stored_count() >= max_channels_) {
            Head* known = find_locked(channel, t);
            if (!known || !known->history.stored) return 0;
        }
        bool restarted = false;
        Head& head = get_locked(channel, t, &restarted);
        if (head.position >= kMaxPosition) return 0;  // no position left to give
        admitted = admit_locked(head);
        if (!admitted && at_cap == AtCap::Refuse) return 0;
        // Skip: the event existed (in Redis), so even when it is dropped its position
        // is used up and readers see a gap there.
        position = ++head.position;
        touch_locked(channel, head, t);
        if (admitted) {
            auto msg = build_locked(head, make_message(channel, position, event, payload, restarted));
            to_wake = deliver_event_locked(head, msg, self);
        }
    }
    if (!admitted) {
        note_dropped(channel, position);
        return 0;
    }
    wake(to_wake);
    return position;
}

bool MemoryHub::admits(const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (history_.stored_count() < max_channels_) return true;
    Head* h = find_locked(channel, now());
    return h && h->history.stored;
}

uint64_t MemoryHub::event_digest(std::string_view event, std::string_view payload) {
    uint64_t h = std::hash<std::string_view>{}(payload) * 1000003u ^ std::hash<std::string_view>{}(event);
    return h == 0 ? 1 : h;
}

bool MemoryHub::deliver_locked(const std::string& channel, Head& head, bool restarted,
                               uint64_t position, const std::string& payload,
                               const std::string& event, std::vector<Inbox*>& to_wake,
                               bool* dropped) {
    head.sequenced = true;
    if (position <= head.position) return false;
    // Dropped or not, the head moves past it (like a skipped event): later events
    // are not taken for a jump to repair, and loops see the hole as a gap.
    head.position = position;
    head.tip_digest = event_digest(event, payload);
    touch_locked(channel, head, now());
    if (!admit_locked(head)) {
        *dropped = true;
        return false;
    }
    // Redis started the count again too (its counter lives as long), or the channel was
    // rewound: a reset.
    bool reset = (restarted && position == 1) || head.reset_next;
    head.reset_next = false;
    auto msg = build_locked(head, make_message(channel, position, event, payload, reset));
    auto woken = deliver_event_locked(head, msg);
    to_wake.insert(to_wake.end(), woken.begin(), woken.end());
    return true;
}

bool MemoryHub::deliver_sequenced(const std::string& channel, uint64_t position,
                                  const std::string& payload, const std::string& event) {
    if (!valid_position(position)) return false;
    std::vector<Inbox*> to_wake;
    bool admitted = false;
    bool dropped = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        bool restarted = false;
        Head& head = get_locked(channel, now(), &restarted);
        admitted = deliver_locked(channel, head, restarted, position, payload, event, to_wake, &dropped);
    }
    if (dropped) note_dropped(channel, position);
    if (!admitted) return false;
    wake(to_wake);
    return true;
}

void MemoryHub::rewind_sequenced(const std::string& channel, const std::vector<Message>& events) {
    std::vector<Inbox*> to_wake;
    std::vector<uint64_t> dropped_at;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Head& head = get_locked(channel, now());
        head.sequenced = true;
        head.position = 0;
        head.tip_digest = 0;
        head.reset_next = true;
        // Readers taking up the channel from now on see what Redis holds, not the old life.
        history_.reset(head.history);
        for (const auto& m : events) {
            if (!valid_position(m.position)) continue;
            bool dropped = false;
            deliver_locked(channel, head, false, m.position, m.payload, m.event, to_wake, &dropped);
            if (dropped) dropped_at.push_back(m.position);
        }
    }
    for (uint64_t p : dropped_at) note_dropped(channel, p);
    std::sort(to_wake.begin(), to_wake.end());
    to_wake.erase(std::unique(to_wake.begin(), to_wake.end()), to_wake.end());
    wake(to_wake);
}

std::pair<uint64_t, uint64_t> MemoryHub::sequenced_tip(const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    Head* h = find_locked(channel, now());
    return h && h->sequenced ? std::make_pair(h->position, h->tip_digest) : std::make_pair(uint64_t{0}, uint64_t{0});
}

void MemoryHub::skip_sequenced(const std::string& channel, uint64_t position) {
    if (!valid_position(position)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    Clock::time_point t = now();
    Head& head = get_locked(channel, t);
    head.sequenced = true;
    if (position > head.position) {
        head.position = position;
        head.tip_digest = 0;
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
        head.tip_digest = event_digest(event, payload);
        head.reset_next = false;
        touch_locked(channel, head, t);
        // A reset is delivered even at the channel limit: loops holding the old
        // positions must forget them. It may exceed max_channels by this channel.
        history_.admit(head.history, max_channels_, true);
        auto msg = build_locked(head, make_message(channel, 1, event, payload, true));
        to_wake = deliver_event_locked(head, msg);
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
        h.tip_digest = 0;
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
        Message control;
        control.readiness_changed = true;
        to_wake = enqueue_locked(std::make_shared<const Message>(std::move(control)));
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
        if (expired_erasable(it->second, t)) {
            history_.forget(it->second.history);
            it = heads_.erase(it);
            ++forgotten;
        } else {
            ++it;
        }
    }
    return forgotten;
}

void MemoryHub::set_max_channels(uint64_t max_channels) {
    std::lock_guard<std::mutex> lock(mutex_);
    max_channels_ = max_channels;
}

size_t MemoryHub::stored_channels() {
    std::lock_guard<std::mutex> lock(mutex_);
    return history_.stored_count();
}

void MemoryHub::set_history_limits(HubHistory::LimitsFn fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    history_.set_limits(std::move(fn));
}

void MemoryHub::set_history_budget(uint64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    history_.set_budget(bytes);
}

HubHistory::Stats MemoryHub::history_stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return history_.stats();
}

size_t MemoryHub::expire_history(history::Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    return history_.expire(now);
}

MemoryHub::Held MemoryHub::hold(const std::string& channel, Inbox* inbox) {
    Held held;
    std::lock_guard<std::mutex> lock(mutex_);
    {
        // What was queued for this loop before it reads the channel: the caller hands it
        // over first, so the snapshot and the live events that follow meet exactly.
        std::lock_guard<std::mutex> inbox_lock(inbox->mutex);
        held.pending.swap(inbox->queue);
    }
    Clock::time_point t = now();
    // A reader on an unknown channel makes an entry at position 0, erased again when the
    // last reader lets go (reading leaves no state).
    Head& head = entry_locked(channel);
    held.id = head.id;
    if (std::find(head.interest.begin(), head.interest.end(), inbox) == head.interest.end())
        head.interest.push_back(inbox);
    history_.set_busy(head.history, true);
    if (t < head.expires) {
        held.head = head.position;
        held.events = history_.snapshot(head.history, history::Clock::now());
        // The head's type outlives its event: a channel that ended stays ended.
        const auto& ring = head.history.ring;
        if (ring && ring->head() == head.position) held.head_type = ring->head_type();
    }
    // An expired head reads as unknown; its next event restarts the count (a reset).
    return held;
}

void MemoryHub::release(const std::string& channel, const Inbox* inbox) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = heads_.find(channel);
    if (it == heads_.end()) return;
    Head& head = it->second;
    head.interest.erase(std::remove(head.interest.begin(), head.interest.end(), inbox),
                        head.interest.end());
    if (!head.interest.empty()) return;
    history_.set_busy(head.history, false);
    // Made only for readers, or expired while read: nothing to keep.
    if (head.position == 0 || now() >= head.expires) erase_locked(it);
}

size_t MemoryHub::channel_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return heads_.size();
}

}  // namespace sluice::broker
