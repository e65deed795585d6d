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
    history_.expire(ev->at);  // events are stamped in order: ev->at is "now" for the ring
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

Channel* ChannelStore::find(std::string_view name) {
    auto it = channels_.find(name);
    return it == channels_.end() ? nullptr : it->second.get();
}

Channel* ChannelStore::find_by_id(uint64_t id) {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

Channel& ChannelStore::open(const std::string& name, const history::HistoryLimits& limits,
                            uint64_t id) {
    if (Channel* ch = find(name)) return *ch;
    auto owned = std::make_unique<Channel>(name, limits);
    Channel& ch = *owned;
    ch.owner_ = this;
    ch.id_ = id;
    channels_.emplace(ch.name(), std::move(owned));
    if (id != 0) by_id_.emplace(id, &ch);
    // Checked at the end of this turn: a reader that does not attach leaves nothing.
    note_unused(ch);
    return ch;
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

void ChannelStore::drop(ByName::iterator it) {
    std::unique_ptr<Channel> ch = std::move(it->second);
    channels_.erase(it);  // its key views ch's name: erased before ch goes
    if (ch->id() != 0) by_id_.erase(ch->id());
    if (hooks_.on_drop) hooks_.on_drop(ch->name());
}

size_t ChannelStore::sweep(std::chrono::steady_clock::time_point now) {
    const size_t buckets = channels_.bucket_count();
    if (channels_.empty() || buckets == 0) return 0;
    // A tenth of the buckets, starting where the last call stopped: every channel once in
    // kSweepRounds calls (while the table is not rehashed), and the cost of a call stays a
    // tenth of the table's even when most buckets are empty (a table does not shrink).
    const size_t share = (buckets + kSweepRounds - 1) / kSweepRounds;
    size_t expired = 0;
    std::vector<std::string_view> unread;
    for (size_t step = 0; step < share; ++step) {
        size_t b = sweep_cursor_++ % buckets;
        for (auto it = channels_.begin(b); it != channels_.end(b); ++it) {
            expired += it->second->history().expire(now);
            if (it->second->subscriber_count() == 0) unread.push_back(it->first);
        }
    }
    sweep_cursor_ %= buckets;
    for (std::string_view name : unread) drop(channels_.find(name));
    return expired;
}

}  // namespace sluice::sse
