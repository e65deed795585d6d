#include "gateway/sse/channel.h"

#include <algorithm>

namespace sluice::sse {

bool is_terminal(const std::vector<std::string>& terminal, const std::string& type) {
    if (type.empty()) return false;
    return std::find(terminal.begin(), terminal.end(), type) != terminal.end();
}

Channel::Channel(std::string name, const history::HistoryLimits& limits)
    : name_(std::move(name)), history_(limits) {}

void Channel::publish(history::StoredEventPtr ev) {
    if (!ev) return;
    history_.append(ev);
    // Subscribers see the shared event itself, held here even if the ring was too small.
    const history::StoredEvent& stored = *ev;
    ++fanning_out_;
    // Index loop: subscribers added during the fan-out are not visited (they replay
    // from history instead); removed ones leave a null hole, compacted afterwards.
    size_t n = subscribers_.size();
    for (size_t i = 0; i < n; ++i) {
        Subscriber* s = subscribers_[i];
        if (s) s->on_channel_event(*this, stored);
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
}

void Channel::unsubscribe(Subscriber& s) {
    if (s.slot_ == SIZE_MAX || s.slot_ >= subscribers_.size() || subscribers_[s.slot_] != &s) {
        return;
    }
    size_t slot = s.slot_;
    s.slot_ = SIZE_MAX;
    --live_subscribers_;
    if (live_subscribers_ == 0 && owner_) owner_->note_unused(*this);
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

ChannelStore::ChannelStore(Hooks hooks) : hooks_(std::move(hooks)) {}

Channel* ChannelStore::find(const std::string& name) {
    auto it = channels_.find(name);
    return it == channels_.end() ? nullptr : it->second.get();
}

Channel& ChannelStore::open(const std::string& name, const history::HistoryLimits& limits) {
    auto [it, inserted] = channels_.try_emplace(name, nullptr);
    if (inserted) {
        it->second = std::make_unique<Channel>(name, limits);
        it->second->owner_ = this;
        // Checked at the end of this turn: a reader that does not attach leaves nothing.
        note_unused(*it->second);
    }
    return *it->second;
}

void ChannelStore::note_unused(Channel& ch) {
    if (ch.unused_noted_) return;
    ch.unused_noted_ = true;
    unused_.push_back(ch.name());
}

size_t ChannelStore::drop_unused() {
    size_t dropped = 0;
    std::vector<std::string> names;
    names.swap(unused_);
    for (const auto& name : names) {
        auto it = channels_.find(name);
        if (it == channels_.end()) continue;
        it->second->unused_noted_ = false;
        if (it->second->subscriber_count() > 0) continue;  // a reader came back this turn
        drop(it);
        ++dropped;
    }
    return dropped;
}

void ChannelStore::drop(std::unordered_map<std::string, std::unique_ptr<Channel>>::iterator it) {
    std::string name = it->first;
    channels_.erase(it);
    if (hooks_.on_drop) hooks_.on_drop(name);
}

size_t ChannelStore::sweep(std::chrono::steady_clock::time_point now) {
    size_t expired = 0;
    for (auto it = channels_.begin(); it != channels_.end();) {
        auto next = std::next(it);
        expired += it->second->history().expire(now);
        if (it->second->subscriber_count() == 0) drop(it);
        it = next;
    }
    return expired;
}

}  // namespace sluice::sse
