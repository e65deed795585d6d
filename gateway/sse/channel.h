// A channel as one worker loop sees it: its history ring, its subscribers (SSE streams
// and waiting long-polls) and the fan-out of each new event to them. ChannelStore owns
// every channel of the loop and evicts idle ones. Pure: no libuv, no sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/history/channel_history.h"
#include "gateway/sse/resume.h"

namespace sluice::sse {

class Channel;

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
    history::ChannelHistory& history() { return history_; }
    const history::ChannelHistory& history() const { return history_; }

    // Appends the event to history and hands it to every subscriber.
    void publish(history::StoredEvent ev);

    // Forgets history and head (positions start again), telling every subscriber.
    void reset();

    void subscribe(Subscriber& s);
    void unsubscribe(Subscriber& s);  // no-op if not subscribed
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
};

class ChannelStore {
  public:
    // Called when a channel is dropped (the broker is told the loop no longer holds it).
    using EvictFn = std::function<void(const std::string& name)>;
    explicit ChannelStore(EvictFn on_evict, size_t max_channels);

    Channel* find(const std::string& name);
    // Creates the channel; returns nullptr when max_channels would be exceeded.
    Channel* create(const std::string& name, const history::HistoryLimits& limits);

    // Expires old events everywhere and drops channels that have no subscribers, no
    // events left and no activity for their TTL. Returns events expired.
    size_t sweep(std::chrono::steady_clock::time_point now);

    size_t size() const { return channels_.size(); }

  private:
    std::unordered_map<std::string, std::unique_ptr<Channel>> channels_;
    EvictFn on_evict_;
    size_t max_channels_;
};

}  // namespace sluice::sse
