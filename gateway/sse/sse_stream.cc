#include "gateway/sse/sse_stream.h"

#include <algorithm>

#include "gateway/sse/encode.h"

namespace sluice::sse {

const char* close_reason_name(CloseReason r) {
    switch (r) {
    case CloseReason::Client: return "client";
    case CloseReason::Terminal: return "terminal";
    case CloseReason::Slow: return "slow";
    case CloseReason::Drain: return "drain";
    case CloseReason::Error: return "error";
    case CloseReason::Pending: return "pending";
    case CloseReason::Expired: return "expired";
    }
    return "?";
}

namespace {
// Heartbeat bytes never change: build them once per process.
const SharedBytes& heartbeat_bytes(HeartbeatMode mode) {
    static const SharedBytes comment = make_shared_bytes(encode_heartbeat_comment());
    static const SharedBytes data = make_shared_bytes(encode_heartbeat_data());
    return mode == HeartbeatMode::Data ? data : comment;
}
}  // namespace

SseStream::SseStream(StreamSink& sink, TimerWheel& wheel, StreamCounters& counters,
                     const StreamSettings& settings)
    : sink_(sink), wheel_(wheel), counters_(counters), settings_(settings) {
    heartbeat_.owner = this;
    heartbeat_.fn = &SseStream::heartbeat_cb;
}

SseStream::~SseStream() {
    life_.end();
    detach();
}

void SseStream::hold() {
    last_write_ms_ = sink_.now_ms();
    arm_heartbeat(static_cast<uint64_t>(settings_.route->heartbeat.interval.count()));
}

void SseStream::end_now() {
    ended_ = true;
    detach();
    sink_.flush_and_close(CloseReason::Terminal);
}

void SseStream::start(Channel& channel, const ResumeDecision& decision) {
    channel_ = &channel;
    last_write_ms_ = sink_.now_ms();
    next_ = decision.next;
    channel.subscribe(*this);
    arm_heartbeat(static_cast<uint64_t>(settings_.route->heartbeat.interval.count()));
    // An evicted-history gap (not a reset), including one that reaches the head because
    // the whole local history expired: a broker that keeps history may still hold those
    // events.
    bool older_than_window = decision.gap && !decision.gap->reset;
    if (older_than_window && settings_.older && settings_.older->can_fetch()) {
        next_ = decision.gap->from;  // what the client has + 1, until the backfill lands
        fetch_older(decision.gap->from, decision.gap->to);
        return;
    }
    if (decision.gap) send_gap(decision.gap->from, decision.gap->to, decision.gap->reset);
    pump();
}

void SseStream::fetch_older(uint64_t from, uint64_t to) {
    backfilling_ = true;
    settings_.older->fetch(channel_->name(), from, to,
                           [this, alive = life_.token(), from, to](std::vector<history::StoredEvent> evs) {
                               if (!alive) return;
                               on_backfill(from, to, std::move(evs));
                           });
}

void SseStream::on_backfill(uint64_t from, uint64_t to, std::vector<history::StoredEvent> events) {
    backfilling_ = false;
    if (ended_ || !channel_) return;
    // Send what the broker still had, in order; report only what nobody holds.
    uint64_t expect = from;
    for (const auto& ev : events) {
        if (ev.position < expect || ev.position > to) continue;
        if (ev.position > expect) send_gap(expect, ev.position - 1);
        if (!deliver(ev)) return;
        expect = ev.position + 1;
    }
    if (expect <= to && expect > from) {
        // The broker answers in bounded batches: ask for the rest.
        fetch_older(expect, to);
        return;
    }
    if (expect <= to) send_gap(expect, to);
    next_ = to + 1;
    pump();
}

void SseStream::detach() {
    if (channel_) {
        channel_->unsubscribe(*this);
        channel_ = nullptr;
    }
    wheel_.cancel(heartbeat_);
}

void SseStream::on_low_water() {
    // The kernel took bytes: a client back under its buffer is not slow (check_slow()).
    if (over_ && sink_.refused_bytes() <= settings_.client_buffer) over_ = false;
    if (!live_ && !ended_ && !backfilling_) pump();
}

void SseStream::pump() {
    // Replay from history while the socket keeps up; the next on_low_water() resumes.
    // Replay is paced by the socket and never counts against client_buffer.
    if (pumping_ || backfilling_ || !channel_) return;
    pumping_ = true;
    const auto& hist = channel_->history();
    while (!ended_ && !live_) {
        if (sink_.unsent_bytes() >= settings_.replay_window) break;
        const history::StoredEvent* ev = hist.first_at_or_after(next_);
        // Positions up to hole_end are not held here (nothing held: up to the head).
        uint64_t hole_end = ev ? ev->position - 1 : hist.head();
        if (hole_end >= next_) {
            // Before the ring's oldest event, the hole was evicted while this stream was
            // away (a fetch from the broker or a slow socket: a busy channel's small ring
            // moves on meanwhile); a broker that keeps history may still hold it. A hole
            // inside the ring is final (a dropped event) and becomes a gap.
            if (next_ < hist.oldest() && settings_.older && settings_.older->can_fetch()) {
                pumping_ = false;
                fetch_older(next_, hole_end);
                return;
            }
            send_gap(next_, hole_end);
            next_ = hole_end + 1;
        }
        if (!ev) {
            live_ = true;
            break;
        }
        if (!deliver(*ev)) break;
    }
    pumping_ = false;
}

bool SseStream::deliver(const history::StoredEvent& ev) {
    next_ = ev.position + 1;
    if (settings_.filter) {
        SharedBytes bytes = ev.encoded;
        // Dropped for this subscriber: its next event simply follows (no gap: a gap would
        // tell it that something it may not see exists).
        if (settings_.filter->keep(ev, bytes)) send_event(bytes);
    } else {
        send_event(ev.encoded);
    }
    bool terminal = channel_ ? channel_->ends_stream(ev, settings_.route->terminal)
                             : is_terminal(settings_.route->terminal, ev.type);
    if (terminal) {
        ended_ = true;
        detach();
        sink_.flush_and_close(CloseReason::Terminal);
        return false;
    }
    return true;
}

void SseStream::send_event(const SharedBytes& bytes) {
    sink_.send(bytes);
    last_write_ms_ = sink_.now_ms();
    ++events_sent_;
    counters_.on_delivered(1, bytes->size());
}

void SseStream::send_gap(uint64_t from, uint64_t to, bool reset) {
    sink_.send(encode_gap(from, to, reset));
    last_write_ms_ = sink_.now_ms();
    counters_.on_gap();
}

void SseStream::on_channel_event(Channel&, const history::StoredEvent& ev) {
    if (ended_) return;
    if (!live_) return;  // the replay will reach this event through history
    if (ev.position < next_) return;
    if (ev.position > next_) {
        // Positions we have not sent lie between: fill them from history (or as a gap).
        live_ = false;
        pump();
        return;
    }
    if (!check_slow()) return;
    deliver(ev);
    check_slow();  // starts the clock if this event took the client over its buffer
}

bool SseStream::check_slow() {
    // client_buffer bounds what the kernel would not take, not what is queued this turn:
    // the clock starts when the unsent bytes pass the buffer and stops as soon as the
    // refused bytes are back under it. A client still over it kSlowGraceMs later stopped
    // reading or reads slower than the channel: disconnect it (it resumes by position)
    // rather than grow memory or drop events silently. A reader given one event, or a
    // burst, larger than the buffer takes it within the grace and is never cut.
    if (!live_ || ended_) {
        over_ = false;  // a replay is paced by the socket and never counts as slow
        return !ended_;
    }
    uint64_t now = sink_.now_ms();
    bool refused_over = sink_.refused_bytes() > settings_.client_buffer;
    if (!refused_over) over_ = false;
    if (refused_over && over_ && now - over_since_ms_ >= kSlowGraceMs) {
        ended_ = true;
        detach();
        counters_.on_slow_disconnect();
        sink_.close_now(CloseReason::Slow);
        return false;
    }
    if (!over_ && sink_.unsent_bytes() > settings_.client_buffer) {
        over_ = true;
        over_since_ms_ = now;
        // Look again when the grace ends even if no event comes (on_heartbeat).
        uint64_t interval = static_cast<uint64_t>(settings_.route->heartbeat.interval.count());
        arm_heartbeat(std::min(kSlowGraceMs, interval));
    }
    return true;
}

void SseStream::on_channel_reset(Channel&) {
    if (ended_) return;
    if (backfilling_) {
        // The reply would carry the previous life's events: let it find this stream gone.
        life_.renew();
        backfilling_ = false;
    }
    if (next_ > 1) send_gap(1, next_ - 1, true);
    next_ = 1;
    live_ = true;  // the channel is empty now: the next event is position 1
}

void SseStream::arm_heartbeat(uint64_t delay_ms) { wheel_.schedule(heartbeat_, delay_ms); }

void SseStream::heartbeat_cb(void* self) noexcept { static_cast<SseStream*>(self)->on_heartbeat(); }

void SseStream::on_heartbeat() {
    if (ended_ || !check_slow()) return;
    uint64_t interval = static_cast<uint64_t>(settings_.route->heartbeat.interval.count());
    uint64_t now = sink_.now_ms();
    uint64_t idle = now - last_write_ms_;
    uint64_t delay = interval - std::min(idle, interval);
    if (idle + wheel_.tick_ms() / 2 >= interval) {
        sink_.send(heartbeat_bytes(settings_.route->heartbeat.mode));
        last_write_ms_ = now;
        delay = interval;
    }
    // Over client_buffer: come back when the grace ends, even if no event arrives.
    if (over_) {
        uint64_t over_for = now - over_since_ms_;
        uint64_t grace_left = over_for < kSlowGraceMs ? kSlowGraceMs - over_for : wheel_.tick_ms();
        delay = std::min(delay, grace_left);
    }
    arm_heartbeat(delay);
}

}  // namespace sluice::sse
