// A channel as one worker loop sees it: its history ring, its subscribers (SSE streams
// and waiting long-polls) and the fan-out of each new event to them. ChannelStore owns
// the loop's channels, each only while the loop has a reader of it: the events live once
// per process in the broker's shared history (broker/hub_history.h), and a loop's ring
// holds references to them. Pure: no libuv, no sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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
    size_t slot_ = SIZE_MAX;  // index in the channel's subscriber vector
};

class Channel {
  public:
    Channel(std::string name, const history::HistoryLimits& limits);

    const std::string& name() const { return name_; }
    // The broker's handle for the channel (broker::Message::channel_id); 0: none.
    uint64_t id() const { return id_; }
    history::ChannelHistory& history() { return history_; }
    const history::ChannelHistory& history() const { return history_; }

    // Appends the event to history and hands it to every subscriber. Events older than
    // the history's ttl as of this one go first: a channel that is written to needs no
    // sweep.
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

  private:
    friend class ChannelStore;
    void compact();  // drops the holes unsubscribe() left during a fan-out

    std::string name_;
    uint64_t id_ = 0;
    history::ChannelHistory history_;
    std::vector<Subscriber*> subscribers_;
    size_t live_subscribers_ = 0;
    int fanning_out_ = 0;      // >0 while publish() iterates; removals then leave holes
    bool has_holes_ = false;
    const std::vector<std::string>* cache_list_ = nullptr;
    uint64_t cache_position_ = 0;
    bool cache_value_ = false;

    // Bookkeeping of the owning ChannelStore (none for a channel made on its own).
    ChannelStore* owner_ = nullptr;
    bool unused_noted_ = false;  // queued for the end-of-turn drop check
};

class ChannelStore {
  public:
    struct Hooks {
        // The loop dropped its state for the channel (the broker is told it no longer
        // holds it).
        std::function<void(const std::string& name)> on_drop;
    };

    explicit ChannelStore(Hooks hooks = {});
    ChannelStore(const ChannelStore&) = delete;
    ChannelStore& operator=(const ChannelStore&) = delete;

    Channel* find(std::string_view name);
    // The channel with this broker handle (broker::Message::channel_id), if held: how
    // an event finds its channel, without hashing the name again.
    Channel* find_by_id(uint64_t id);
    // Finds or creates the channel; `id` is the broker's handle for it (0: none, found
    // by name only). Never refuses: which channels may hold events is decided
    // process-wide before an event reaches a loop, and a channel lives here only while a
    // reader is attached (see drop_unused).
    Channel& open(const std::string& name, const history::HistoryLimits& limits, uint64_t id = 0);

    // Drops channels that have no reader left (made for a reader that did not attach, or
    // whose last reader left). Call at the end of a loop turn, when no fan-out is
    // running. Returns the number dropped.
    size_t drop_unused();

    // Expires old events (the loop's references; the shared history expires on its own)
    // and drops channels without readers, in a slice of the table: each call visits
    // 1/kSweepRounds of its buckets, so every channel is visited once per kSweepRounds
    // calls and one call costs a tenth of a full pass. It only bounds how long a quiet
    // channel keeps expired events alive: a channel expires its events when it is
    // written to (Channel::publish) and when a reader takes it up (the worker).
    // Returns events expired.
    static constexpr size_t kSweepRounds = 10;
    size_t sweep(std::chrono::steady_clock::time_point now);

    size_t size() const { return channels_.size(); }

  private:
    friend class Channel;
    // Keyed by a view of the channel's own name (the Channel is heap-allocated and
    // outlives its entry): the name is stored once.
    using ByName = std::unordered_map<std::string_view, std::unique_ptr<Channel>>;
    void note_unused(Channel& ch);
    void drop(ByName::iterator it);

    ByName channels_;
    std::unordered_map<uint64_t, Channel*> by_id_;
    std::vector<std::string> unused_;
    size_t sweep_cursor_ = 0;  // next bucket of channels_ the sweep looks at
    Hooks hooks_;
};

}  // namespace sluice::sse
