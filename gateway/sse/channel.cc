#include "gateway/sse/channel.h"

#include <algorithm>

namespace sluice::sse {

bool is_terminal(const std::vector<std::string>& terminal, const std::string& type) {
    if (type.empty()) return false;
    return std::find(terminal.begin(), terminal.end(), type) != terminal.end();
}

Channel::Channel(std::string name, const history::HistoryLimits& limits)
    : name_(std::move(name)), history_(limits), last_activity_(std::chrono::steady_clock::now()),
      ttl_(limits.ttl) {}

void Channel::publish(history::StoredEvent ev) {
    last_activity_ = ev.at;
    history_.append(ev);
    const history::StoredEvent* stored = history_.newest();
    if (!stored || stored->position != ev.position) stored = &ev;  // ring too small to hold it
    ++fanning_out_;
    // Index loop: subscribers added during the fan-out are not visited (they replay
    // from history instead); removed ones leave a null hole, compacted afterwards.
    size_t n = subscribers_.size();
    for (size_t i = 0; i < n; ++i) {
        Subscriber* s = subscribers_[i];
        if (s) s->on_channel_event(*this, *stored);
    }
    if (--fanning_out_ == 0 && has_holes_) compact();
}

void Channel::compact() {
    size_t out = 0;
    for (Subscriber* s : subscribers_) {
        if (!s) continue;
        s->slot_ = out;
        subscribers_[out++] = s;
    }
    subscribers_.resize(out);
    has_holes_ = false;
}

void Channel::reset() {
    history_.reset();
    cache_list_ = nullptr;  // positions will repeat
    ++fanning_out_;
    size_t n = subscribers_.size();
    for (size_t i = 0; i < n; ++i)
        if (Subscriber* s = subscribers_[i]) s->on_channel_reset(*this);
    if (--fanning_out_ == 0 && has_holes_) compact();
}

void Channel::subscribe(Subscriber& s) {
    if (s.slot_ != SIZE_MAX) return;
    s.slot_ = subscribers_.size();
    subscribers_.push_back(&s);
    ++live_subscribers_;
    last_activity_ = std::chrono::steady_clock::now();
}

void Channel::unsubscribe(Subscriber& s) {
    if (s.slot_ == SIZE_MAX || s.slot_ >= subscribers_.size() || subscribers_[s.slot_] != &s) {
        return;
    }
    size_t slot = s.slot_;
    s.slot_ = SIZE_MAX;
    --live_subscribers_;
    last_activity_ = std::chrono::steady_clock::now();
    if (fanning_out_ > 0) {
        subscribers_[slot] = nullptr;
        has_holes_ = true;
        return;
    }
    Subscriber* last = subscribers_.back();
    subscribers_[slot] = last;
    if (last) last->slot_ = slot;
    subscribers_.pop_back();
}

ChannelWindow Channel::window(const std::vector<std::string>& terminal) const {
    ChannelWindow w;
    w.head = history_.head();
    w.oldest = history_.oldest();
    // The head's type outlives the event (history ttl, count or byte eviction): a
    // client resuming at a terminal event that expired still gets 204, not a stream
    // that would wait forever.
    if (w.head > 0 && is_terminal(terminal, history_.head_type())) w.terminal = w.head;
    return w;
}

ChannelStore::ChannelStore(EvictFn on_evict, size_t max_channels)
    : on_evict_(std::move(on_evict)), max_channels_(max_channels) {}

Channel* ChannelStore::find(const std::string& name) {
    auto it = channels_.find(name);
    return it == channels_.end() ? nullptr : it->second.get();
}

Channel* ChannelStore::create(const std::string& name, const history::HistoryLimits& limits) {
    if (channels_.size() >= max_channels_) return nullptr;
    auto [it, inserted] = channels_.try_emplace(name, nullptr);
    if (inserted) it->second = std::make_unique<Channel>(name, limits);
    return it->second.get();
}

size_t ChannelStore::sweep(std::chrono::steady_clock::time_point now) {
    size_t expired = 0;
    for (auto it = channels_.begin(); it != channels_.end();) {
        Channel& ch = *it->second;
        expired += ch.history().expire(now);
        bool idle = ch.subscriber_count() == 0 && ch.history().empty() &&
                    now - ch.last_activity() >= ch.history_ttl();
        if (idle) {
            std::string name = it->first;
            it = channels_.erase(it);
            if (on_evict_) on_evict_(name);
        } else {
            ++it;
        }
    }
    return expired;
}

}  // namespace sluice::sse
