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

void Channel::publish(history::StoredEventPtr ev) {
    if (!ev) return;
    last_activity_ = ev->at;
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
    last_activity_ = std::chrono::steady_clock::now();
    if (live_subscribers_ == 1 && owner_) owner_->sync_lru(*this);  // no longer idle
}

void Channel::unsubscribe(Subscriber& s) {
    if (s.slot_ == SIZE_MAX || s.slot_ >= subscribers_.size() || subscribers_[s.slot_] != &s) {
        return;
    }
    size_t slot = s.slot_;
    s.slot_ = SIZE_MAX;
    --live_subscribers_;
    last_activity_ = std::chrono::steady_clock::now();
    if (live_subscribers_ == 0 && owner_) {
        owner_->note_unused(*this);
        owner_->sync_lru(*this);  // idle now: first to lose history to the budget
    }
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

ChannelStore::ChannelStore(Hooks hooks, uint64_t budget_bytes, bool keeps_idle)
    : hooks_(std::move(hooks)), budget_(budget_bytes), keeps_idle_(keeps_idle) {}

ChannelStore::~ChannelStore() {
    // Channels detach from the ledger, which goes away with the store.
    for (auto& [name, ch] : channels_) ch->history().set_ledger(nullptr);
}

Channel* ChannelStore::find(const std::string& name) {
    auto it = channels_.find(name);
    return it == channels_.end() ? nullptr : it->second.get();
}

Channel& ChannelStore::open(const std::string& name, const history::HistoryLimits& limits) {
    auto [it, inserted] = channels_.try_emplace(name, nullptr);
    if (inserted) {
        it->second = std::make_unique<Channel>(name, limits);
        Channel& ch = *it->second;
        ch.owner_ = this;
        ch.history().set_ledger(&bytes_);
        // Checked at the end of this turn: a reader that does not attach leaves nothing.
        note_unused(ch);
    }
    return *it->second;
}

void ChannelStore::touch(Channel& ch) {
    if (ch.lru_) ch.lru_->splice(ch.lru_->end(), *ch.lru_, ch.lru_pos_);
}

void ChannelStore::sync_lru(Channel& ch) {
    std::list<Channel*>* want = nullptr;
    if (!ch.history().empty()) want = ch.subscriber_count() > 0 ? &busy_lru_ : &idle_lru_;
    if (want == ch.lru_) return;
    if (ch.lru_) ch.lru_->erase(ch.lru_pos_);
    if (want) ch.lru_pos_ = want->insert(want->end(), &ch);
    ch.lru_ = want;
}

void ChannelStore::report_if_empty(Channel& ch) {
    if (ch.empty_reported_ || !ch.history().empty()) return;
    ch.empty_reported_ = true;
    if (hooks_.on_emptied) hooks_.on_emptied(ch.name(), ch.history().head());
}

void ChannelStore::after_event(Channel& ch) {
    // The process counted this copy when it let the event through: it must hear when
    // the copy is empty again, whether the event was kept or not.
    ch.empty_reported_ = false;
    if (!ch.history().empty()) {
        ch.held_events_ = true;
        sync_lru(ch);
        touch(ch);
    }
    enforce_budget(&ch);
    sync_lru(ch);
    report_if_empty(ch);
}

void ChannelStore::enforce_budget(Channel* keep) {
    if (budget_ == 0 || bytes_ <= budget_) return;
    // 1. Whole histories of idle channels (no stream, no waiting poll), least recently
    //    used first. Their heads stay, so positions are never reused; a reader that
    //    resumes into them later gets a gap (or a backfill from Redis).
    for (auto it = idle_lru_.begin(); it != idle_lru_.end() && bytes_ > budget_;) {
        Channel* ch = *it++;  // advanced first: sync_lru unlists ch
        if (ch == keep) continue;
        evictions_.idle_channel += ch->history().size();
        ch->history().clear();
        sync_lru(*ch);
        report_if_empty(*ch);
    }
    // 2. Still over: the oldest events of the least recently used channels with readers
    //    (their streams get a gap if they still needed them), then of `keep` itself,
    //    whose newest event stays: a publish answered as stored is in history when its
    //    answer leaves.
    for (auto it = busy_lru_.begin(); it != busy_lru_.end() && bytes_ > budget_;) {
        Channel* ch = *it++;
        if (ch != keep) trim_oldest(*ch, 0);
    }
    if (keep && bytes_ > budget_) trim_oldest(*keep, 1);
}

void ChannelStore::trim_oldest(Channel& ch, size_t floor) {
    while (bytes_ > budget_ && ch.history().size() > floor) {
        ch.history().drop_oldest();
        ++evictions_.oldest;
    }
    sync_lru(ch);
    report_if_empty(ch);
}

void ChannelStore::note_unused(Channel& ch) {
    if (ch.unused_noted_ || (ch.held_events_ && keeps_idle_)) return;
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
        Channel& ch = *it->second;
        ch.unused_noted_ = false;
        if (ch.subscriber_count() > 0) continue;
        if (keeps_idle_ && (ch.held_events_ || !ch.history().empty())) continue;
        drop(it);
        ++dropped;
    }
    return dropped;
}

void ChannelStore::drop(std::unordered_map<std::string, std::unique_ptr<Channel>>::iterator it) {
    Channel& ch = *it->second;
    report_if_empty(ch);
    if (ch.lru_) {
        ch.lru_->erase(ch.lru_pos_);
        ch.lru_ = nullptr;
    }
    ch.history().clear();  // settles the ledger
    ch.history().set_ledger(nullptr);
    std::string name = it->first;
    channels_.erase(it);
    if (hooks_.on_drop) hooks_.on_drop(name);
}

size_t ChannelStore::sweep(std::chrono::steady_clock::time_point now) {
    size_t expired = 0;
    for (auto it = channels_.begin(); it != channels_.end();) {
        Channel& ch = *it->second;
        size_t n = ch.history().expire(now);
        if (n > 0) {
            expired += n;
            sync_lru(ch);
            report_if_empty(ch);
        }
        // A channel that held events keeps its (empty) state for its TTL after its last
        // activity, as before; one made for readers goes as soon as nobody reads it.
        bool idle = ch.subscriber_count() == 0 &&
                    (!keeps_idle_ || (ch.history().empty() &&
                                      (!ch.held_events_ || now - ch.last_activity() >= ch.history_ttl())));
        auto next = std::next(it);
        if (idle) drop(it);
        it = next;
    }
    return expired;
}

void ChannelStore::set_budget(uint64_t budget_bytes) {
    budget_ = budget_bytes;
    enforce_budget(nullptr);
}

}  // namespace sluice::sse
