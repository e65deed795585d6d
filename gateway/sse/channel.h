// A channel as one worker loop sees it: its history ring, its subscribers (SSE streams
// and waiting long-polls) and the fan-out of each new event to them. ChannelStore owns
// every channel of the loop, keeps the loop's history within its byte budget (least
// recently used idle channels first) and lets go of channels nobody reads and that hold
// nothing. Pure: no libuv, no sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/history/channel_history.h"
#include "gateway/sse/resume.h"

namespace sluice::sse {

class Channel;
class ChannelStore;

// True if `type` is one of the terminal types.
bool is_terminal(const std::vector<std::string>& terminal, const std::string& type);

// Something that wants a channel's new events (an SSE stream or a held long-poll).
class Subscriber {
  public:
    // Called on the loop thread for each event appended to the channel. May
    // unsubscribe itself (or others) from the channel during the call.
    virtual void on_channel_event(Channel& channel, const history::StoredEvent& ev) = 0;
    // The channel's history and positions were reset by the broker. May unsubscribe.
    virtual void on_channel_reset(Channel&) {}

  protected:
    virtual ~Subscriber() = default;

  private:
    friend class Channel;
class ChannelStore;
    size_t slot_ = SIZE_MAX;  // index in the channel's subscriber vector
};

class Channel {
  public:
    Channel(std::string name, const history::HistoryLimits& limits);

    const std::string& name() const { return name_; }
    history::ChannelHistory& history() { return history_; }
    const history::ChannelHistory& history() const { return history_; }

    // Appends the event to history and hands it to every subscriber.
    void publish(history::StoredEventPtr ev);
    void publish(history::StoredEvent ev) { publish(std::make_shared<const history::StoredEvent>(std::move(ev))); }

    // Forgets history and head (positions start again), telling every subscriber.
    void reset();

    void subscribe(Subscriber& s);
    // No-op if not subscribed. When the last subscriber leaves, the owning store may drop
    // the channel at the end of the loop turn (never during this call).
    void unsubscribe(Subscriber& s);
    size_t subscriber_count() const { return live_subscribers_; }

    // The window the resume decision needs, with `terminal` naming the route's
    // terminal types (the channel has ended if its newest event is one of them).
    ChannelWindow window(const std::vector<std::string>& terminal) const;

    // Is ev (an event of this channel) terminal for a route with this terminal list?
    // Every stream of a route passes the same list object, so a fan-out decides once
    // per event, not once per subscriber.
    bool ends_stream(const history::StoredEvent& ev, const std::vector<std::string>& terminal) {
        if (ev.type.empty()) return false;
        if (cache_list_ != &terminal || cache_position_ != ev.position) {
            cache_list_ = &terminal;
            cache_position_ = ev.position;
            cache_value_ = is_terminal(terminal, ev.type);
        }
        return cache_value_;
    }

    std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
    std::chrono::milliseconds history_ttl() const { return ttl_; }

  private:
    friend class ChannelStore;
    void compact();  // drops the holes unsubscribe() left during a fan-out

    std::string name_;
    history::ChannelHistory history_;
    std::vector<Subscriber*> subscribers_;
    size_t live_subscribers_ = 0;
    int fanning_out_ = 0;      // >0 while publish() iterates; removals then leave holes
    bool has_holes_ = false;
    std::chrono::steady_clock::time_point last_activity_;
    std::chrono::milliseconds ttl_;
    const std::vector<std::string>* cache_list_ = nullptr;
    uint64_t cache_position_ = 0;
    bool cache_value_ = false;

    // Bookkeeping of the owning ChannelStore (none for a channel made on its own).
    ChannelStore* owner_ = nullptr;
    std::list<Channel*>* lru_ = nullptr;  // the store's idle or busy LRU list, if it holds events
    std::list<Channel*>::iterator lru_pos_;
    bool held_events_ = false;      // has held events in this loop (then the TTL rule applies)
    bool unused_noted_ = false;     // queued for the end-of-turn drop check
    bool empty_reported_ = true;    // nothing to tell the process about an empty copy
};

class ChannelStore {
  public:
    struct Hooks {
        // The loop dropped its state for the channel (the broker is told it no longer
        // holds it).
        std::function<void(const std::string& name)> on_drop;
        // The loop's copy holds no events any more, after the broker handed it one (kept
        // or not) or after it held some: the process may stop counting the channel
        // against limits.max_channels. `head` is the copy's head.
        std::function<void(const std::string& name, uint64_t head)> on_emptied;
    };
    // Events dropped to keep the loop's history within its byte budget.
    struct BudgetEvictions {
        uint64_t idle_channel = 0;  // whole history of an idle channel (no subscribers)
        uint64_t oldest = 0;        // oldest events of a channel that still has readers
    };

    // budget_bytes: the most history bytes this store keeps (0 = no budget).
    // keeps_idle: a channel that held events stays without readers (for its TTL) and
    // counts in the budget; false: every channel goes at the end of the turn its last
    // reader leaves (a worker loop, whose events live in the process's shared history).
    ChannelStore(Hooks hooks, uint64_t budget_bytes, bool keeps_idle = true);
    ~ChannelStore();
    ChannelStore(const ChannelStore&) = delete;
    ChannelStore& operator=(const ChannelStore&) = delete;

    Channel* find(const std::string& name);
    // Finds or creates the channel. Never refuses: which channels may hold events is
    // decided process-wide before an event reaches a loop, and a channel created for a
    // reader lives only while a reader is attached (see drop_unused).
    Channel& open(const std::string& name, const history::HistoryLimits& limits);
    // A reader used the channel: it becomes the most recently used.
    void touch(Channel& ch);

    // Call after the broker handed ch an event (whether it was kept or not) or after
    // history was added to it: keeps the budget (never evicting ch's newest event) and
    // reports an empty copy.
    void after_event(Channel& ch);

    // Drops channels that were created for readers, never held events and have no
    // reader left. Call at the end of a loop turn, when no fan-out is running.
    // Returns the number dropped.
    size_t drop_unused();

    // Expires old events everywhere and drops channels that have no subscribers and no
    // events left (a channel that held events: once idle for its TTL). Returns events
    // expired.
    size_t sweep(std::chrono::steady_clock::time_point now);

    void set_budget(uint64_t budget_bytes);
    size_t size() const { return channels_.size(); }
    size_t holding_events() const { return idle_lru_.size() + busy_lru_.size(); }
    uint64_t bytes() const { return bytes_; }
    const BudgetEvictions& budget_evictions() const { return evictions_; }

  private:
    friend class Channel;
    void note_unused(Channel& ch);
    // Puts ch in the LRU list its state calls for (idle, busy, or none when it holds no
    // events); a channel that changes list becomes the most recently used of the new one.
    void sync_lru(Channel& ch);
    void report_if_empty(Channel& ch);
    void enforce_budget(Channel* keep);
    void trim_oldest(Channel& ch, size_t floor);
    void drop(std::unordered_map<std::string, std::unique_ptr<Channel>>::iterator it);

    std::unordered_map<std::string, std::unique_ptr<Channel>> channels_;
    // Channels holding events, least recently used first: without subscribers (idle)
    // and with. Two lists, so that eviction finds idle channels without walking busy ones.
    std::list<Channel*> idle_lru_;
    std::list<Channel*> busy_lru_;
    std::vector<std::string> unused_;
    Hooks hooks_;
    uint64_t budget_;
    uint64_t bytes_ = 0;            // ledger of every channel's history bytes
    bool keeps_idle_ = true;
    BudgetEvictions evictions_;
};

}  // namespace sluice::sse
