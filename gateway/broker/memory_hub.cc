#include "gateway/broker/memory_hub.h"

#include <algorithm>

namespace sluice::broker {

MemoryHub::MemoryHub(std::chrono::milliseconds head_idle_ttl) : head_idle_ttl_(head_idle_ttl) {}

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
                            const std::string& event, Inbox* self) {
    std::vector<Inbox*> to_wake;
    uint64_t position = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Head& head = heads_[channel];
        position = ++head.position;
        head.last_publish = std::chrono::steady_clock::now();
        to_wake = enqueue_locked(
            std::make_shared<const Message>(Message{channel, position, event, payload}), self);
    }
    wake(to_wake);
    return position;
}

bool MemoryHub::deliver_sequenced(const std::string& channel, uint64_t position,
                                  const std::string& payload, const std::string& event) {
    std::vector<Inbox*> to_wake;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Head& head = heads_[channel];
        head.sequenced = true;
        if (position <= head.position) return false;
        head.position = position;
        head.last_publish = std::chrono::steady_clock::now();
        to_wake = enqueue_locked(
            std::make_shared<const Message>(Message{channel, position, event, payload}));
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
    // Only a channel the hub has not delivered yet takes Redis's head. Once the hub
    // delivers a channel, its head must follow pub/sub: raising it to a head read on
    // another connection made the events in flight look like duplicates, and every loop
    // holding the channel lost them (a gap {N, N} over events Redis held).
    if (h.position == 0) h.position = head;
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
    maybe_forget(it);
}

void MemoryHub::maybe_forget(std::unordered_map<std::string, Head>::iterator it) {
    // Forget a head only when no loop holds the channel and nothing was published for
    // longer than any loop keeps an idle channel: an event still in an inbox is then
    // impossible, so positions never go backwards under a loop that still has them.
    if (it->second.holders > 0) return;
    if (std::chrono::steady_clock::now() - it->second.last_publish < head_idle_ttl_) return;
    heads_.erase(it);
}

size_t MemoryHub::channel_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return heads_.size();
}

}  // namespace sluice::broker
