// One client's SSE stream: where it is in its channel (next position), replay of the
// backlog paced by the socket, live delivery bounded by the client buffer, heartbeats
// after idleness, and the end of the stream on a terminal event.
//
// Lifecycle: created by the connection after the response head is written; start()
// subscribes it; it ends by calling sink.flush_and_close()/close_now(), after which the owner calls
// detach() (also on client close) and destroys it.
#pragma once

#include <cstdint>
#include <memory>

#include "gateway/core/lifetime.h"
#include "gateway/core/timer_wheel.h"
#include "gateway/sse/channel.h"
#include "gateway/sse/history_source.h"
#include "gateway/sse/resume.h"
#include "gateway/sse/route_options.h"
#include "gateway/sse/stream_sink.h"

namespace sluice::sse {

// Counters a stream updates; owned by the worker's metrics (plain fields: one thread).
struct StreamCounters {
    virtual void on_delivered(uint64_t events, uint64_t bytes) = 0;
    virtual void on_gap() = 0;
    virtual void on_slow_disconnect() = 0;

  protected:
    virtual ~StreamCounters() = default;
};

// How long the bytes the kernel refused may stay over client_buffer before the client
// counts as slow. Long enough for a reading client to take one event, or a burst that
// arrived at once, larger than the buffer; short enough that a stalled one holds little.
inline constexpr uint64_t kSlowGraceMs = 1000;

// A per-subscriber view of events (a route's event filters, pipeline/filter.h): keep an
// event, drop it for this subscriber, or replace the bytes it gets. Streams on routes
// without event filters have none, and their delivery path checks only for null.
class EventFilter {
  public:
    virtual bool keep(const history::StoredEvent& ev, SharedBytes& bytes) const = 0;

  protected:
    ~EventFilter() = default;
};

struct StreamSettings {
    const SseRouteOptions* route = nullptr;  // outlives the stream (config kept alive)
    HistorySource* older = nullptr;           // where events before local history live
    const EventFilter* filter = nullptr;      // outlives the stream; null: every event as is
    uint64_t client_buffer = 256 * 1024;      // live bytes the kernel may refuse (see kSlowGraceMs)
    uint64_t replay_window = 64 * 1024;       // replay refills below this many unsent bytes
};

class SseStream final : public Subscriber {
  public:
    SseStream(StreamSink& sink, TimerWheel& wheel, StreamCounters& counters,
              const StreamSettings& settings);
    ~SseStream();
    SseStream(const SseStream&) = delete;
    SseStream& operator=(const SseStream&) = delete;

    // Keeps the client waiting with heartbeats before the channel can be answered
    // (the broker is not ready, or the channel is loading from it).
    void hold();

    // Ends a held stream that turned out to have nothing to send (the channel ended
    // before the client's position).
    void end_now();

    // Starts the stream: events the local history no longer holds are first read from
    // the broker's history where it keeps one; what nobody holds is reported as a gap;
    // then replay from decision.next and live events. May finish the stream
    // synchronously (a terminal event in the backlog).
    void start(Channel& channel, const ResumeDecision& decision);

    // The sink's unsent bytes dropped (a write completed): continue a paused replay.
    void on_low_water();

    // Stops everything: leaves the channel, cancels the heartbeat. Idempotent.
    void detach();

    void on_channel_event(Channel& channel, const history::StoredEvent& ev) override;
    // Positions restarted: the client is told that what it counted (up to next-1) is
    // void — a reset gap {1, next-1, reset}, as a resume ahead of the head gets — and
    // the stream continues from position 1 (the channel is empty at this point, so the
    // new events are all delivered). A backfill under way is abandoned: it would deliver
    // events of the channel's previous life.
    void on_channel_reset(Channel& channel) override;

    uint64_t events_sent() const { return events_sent_; }
    uint64_t next_position() const { return next_; }
    bool ended() const { return ended_; }

  private:
    void pump();
    void fetch_older(uint64_t from, uint64_t to);
    void on_backfill(uint64_t from, uint64_t to, std::vector<history::StoredEvent> events);
    // Writes one event; returns false if the stream ended.
    bool deliver(const history::StoredEvent& ev);
    void send_event(const SharedBytes& bytes);
    void send_gap(uint64_t from, uint64_t to, bool reset = false);
    // Live delivery only: false if the client stayed over client_buffer for kSlowGraceMs
    // and was disconnected.
    bool check_slow();
    void arm_heartbeat(uint64_t delay_ms);
    static void heartbeat_cb(void* self) noexcept;
    void on_heartbeat();

    StreamSink& sink_;
    TimerWheel& wheel_;
    StreamCounters& counters_;
    StreamSettings settings_;
    Channel* channel_ = nullptr;
    TimerWheel::Entry heartbeat_;
    uint64_t next_ = 1;
    uint64_t last_write_ms_ = 0;
    uint64_t events_sent_ = 0;
    // Since when the unsent bytes have been over client_buffer (0 = not over).
    uint64_t over_since_ms_ = 0;
    bool over_ = false;
    bool live_ = false;   // caught up: new events are written as they arrive
    bool ended_ = false;
    bool pumping_ = false;
    bool backfilling_ = false;
    // Cleared when the stream dies, so a broker reply arriving later is ignored.
    Lifetime life_;  // renewed on a reset: a backfill reply of the previous life finds it gone
};

}  // namespace sluice::sse
