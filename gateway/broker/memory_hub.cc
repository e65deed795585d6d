#include "gateway/broker/memory_hub.h"

#include <algorithm>

#include "gateway/core/log.h"

namespace sluice::broker {

MemoryHub::MemoryHub(std::chrono::milliseconds head_idle_ttl, uint64_t max_channels)
    : head_idle_ttl_(head_idle_ttl), max_channels_(max_channels) {}

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

uint64_t MemoryHub::publish(const std::string& channel, const std::string& payload,
                            const std::string& event, Inbox* self, AtCap at_cap) {
    std::vector<Inbox*> to_wake;
    uint64_t position = 0;
    bool admitted = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = heads_.find(channel);
        if (it == heads_.end()) {
            // A refused publish to an unknown channel leaves no trace.
            if (at_cap == AtCap::Refuse && stored_channels_ >= max_channels_) return 0;
            it = heads_.try_emplace(channel).first;
        }
        Head& head = it->second;
        admitted = admit_locked(head);
        if (!admitted && at_cap == AtCap::Refuse) return 0;
        // Skip: the event existed (in Redis), so even when it is dropped its position
        // is used up and readers see a gap there.
        position = ++head.position;
        head.last_publish = std::chrono::steady_clock::now();
        if (admitted) {
            head.last_queued = position;
            head.emptied.clear();
            to_wake = enqueue_locked(
                std::make_shared<const Message>(Message{channel, position, event, payload}), self);
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
    if (stored_channels_ < max_channels_) return true;
    auto it = heads_.find(channel);
    return it != heads_.end() && it->second.stored;
}

bool MemoryHub::admit_locked(Head& head) {
    if (head.stored) return true;
    if (stored_channels_ >= max_channels_) return false;
    head.stored = true;
    head.emptied.clear();
    ++stored_channels_;
    return true;
}

void MemoryHub::note_dropped(const std::string& channel, uint64_t position) {
    uint64_t n = dropped_at_cap_.fetch_add(1, std::memory_order_relaxed);
    // The first few and then every 1000th: a flood of new channels cannot flood the log.
    if (n < 10 || n % 1000 == 0)
        log::warn("channel limit reached (limits.max_channels); event from redis dropped",
                  log::field("channel", channel) + "," +
                      log::field("position", static_cast<long long>(position)) + "," +
                      log::field("dropped_total", static_cast<long long>(n + 1)));
}

bool MemoryHub::deliver_sequenced(const std::string& channel, uint64_t position,
                                  const std::string& payload, const std::string& event) {
    std::vector<Inbox*> to_wake;
    bool admitted = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Head& head = heads_[channel];
        head.sequenced = true;
        if (position <= head.position) return false;
        // Dropped or not, the head moves past it (like a skipped event): later events
        // are not taken for a jump to repair, and loops see the hole as a gap.
        head.position = position;
        head.last_publish = std::chrono::steady_clock::now();
        admitted = admit_locked(head);
        if (admitted) {
            head.last_queued = position;
            head.emptied.clear();
            to_wake = enqueue_locked(
                std::make_shared<const Message>(Message{channel, position, event, payload}));
        }
    }
    if (!admitted) {
        note_dropped(channel, position);
        return false;
    }
    wake(to_wake);
    return true;
}

void MemoryHub::skip_sequenced(const std::string& channel, uint64_t position) {
    std::lock_guard<std::mutex> lock(mutex_);
    Head& head = heads_[channel];
    head.sequenced = true;
    if (position > head.position) head.position = position;
}

void MemoryHub::reset_sequenced(const std::string& channel, const std::string& payload,
                                const std::string& event) {
    std::vector<Inbox*> to_wake;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Head& head = heads_[channel];
        head.sequenced = true;
        head.position = 1;
        head.last_publish = std::chrono::steady_clock::now();
        // A reset is delivered even at the channel limit: loops holding the old
        // positions must forget them. It may exceed max_channels by this channel.
        if (!head.stored) {
            head.stored = true;
            ++stored_channels_;
        }
        head.last_queued = 1;
        head.emptied.clear();
        Message msg{channel, 1, event, payload};
        msg.reset = true;
        to_wake = enqueue_locked(std::make_shared<const Message>(std::move(msg)));
    }
    wake(to_wake);
}

uint64_t MemoryHub::head(const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = heads_.find(channel);
    return it == heads_.end() ? 0 : it->second.position;
}

void MemoryHub::note_sequenced_head(const std::string& channel, uint64_t head) {
    std::lock_guard<std::mutex> lock(mutex_);
    Head& h = heads_[channel];
    h.sequenced = true;
    if (head > h.position) h.position = head;
    if (h.holders == 0) h.last_publish = std::chrono::steady_clock::now();
}

std::vector<std::pair<std::string, uint64_t>> MemoryHub::sequenced_heads() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& [name, h] : heads_)
        if (h.sequenced) out.emplace_back(name, h.position);
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
    auto it = heads_.find(channel);
    fn(it == heads_.end() ? 0 : it->second.position);
}

void MemoryHub::channel_opened(const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& head = heads_[channel];
    if (head.holders == 0 && head.position == 0) head.last_publish = std::chrono::steady_clock::now();
    ++head.holders;
}

void MemoryHub::channel_closed(const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = heads_.find(channel);
    if (it == heads_.end()) return;
    if (it->second.holders > 0) --it->second.holders;
    // A channel a reader asked for that never had an event: nothing to remember.
    if (it->second.holders == 0 && it->second.position == 0 && !it->second.stored) {
        heads_.erase(it);
        return;
    }
    maybe_forget(it);
}

void MemoryHub::maybe_forget(std::unordered_map<std::string, Head>::iterator it) {
    // Forget a head only when no loop holds the channel and nothing was published for
    // longer than any loop keeps an idle channel: an event still in an inbox is then
    // impossible, so positions never go backwards under a loop that still has them.
    if (it->second.holders > 0) return;
    if (std::chrono::steady_clock::now() - it->second.last_publish < head_idle_ttl_) return;
    if (it->second.stored) --stored_channels_;
    heads_.erase(it);
}

void MemoryHub::copy_emptied(const std::string& channel, const Inbox* inbox, uint64_t head) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = heads_.find(channel);
    if (it == heads_.end() || !it->second.stored) return;
    Head& h = it->second;
    if (head < h.last_queued) return;  // a newer event is still on its way to that loop
    if (std::find(h.emptied.begin(), h.emptied.end(), inbox) == h.emptied.end())
        h.emptied.push_back(inbox);
    if (h.emptied.size() < inboxes_.size()) return;
    h.stored = false;
    h.emptied.clear();
    --stored_channels_;
}

bool MemoryHub::adopt(const std::string& channel, const Inbox* inbox) {
    std::lock_guard<std::mutex> lock(mutex_);
    Head& h = heads_[channel];
    bool was_stored = h.stored;
    if (!admit_locked(h)) return false;
    if (was_stored) {
        h.emptied.erase(std::remove(h.emptied.begin(), h.emptied.end(), inbox), h.emptied.end());
    } else {
        // Only this loop will hold events of it: the others count as empty already.
        for (const Inbox* other : inboxes_)
            if (other != inbox) h.emptied.push_back(other);
    }
    return true;
}

void MemoryHub::set_max_channels(uint64_t max_channels) {
    std::lock_guard<std::mutex> lock(mutex_);
    max_channels_ = max_channels;
}

size_t MemoryHub::stored_channels() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stored_channels_;
}

size_t MemoryHub::channel_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return heads_.size();
}

}  // namespace sluice::broker
