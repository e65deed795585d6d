#include "gateway/sse/sse_stream.h"

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
    }
    return "?";
}

namespace {
// Heartbeat bytes never change: build them once per process.
const SharedBytes& heartbeat_bytes(config::HeartbeatMode mode) {
    static const SharedBytes comment = make_shared_bytes(encode_heartbeat_comment());
    static const SharedBytes data = make_shared_bytes(encode_heartbeat_data());
    return mode == config::HeartbeatMode::Data ? data : comment;
}
}  // namespace

SseStream::SseStream(StreamSink& sink, TimerWheel& wheel, StreamCounters& counters,
                     const StreamSettings& settings)
    : sink_(sink), wheel_(wheel), counters_(counters), settings_(settings) {
    heartbeat_.owner = this;
    heartbeat_.fn = &SseStream::heartbeat_cb;
}

SseStream::~SseStream() {
    *alive_ = false;
    detach();
}

void SseStream::hold() {
    last_write_ms_ = sink_.now_ms();
    arm_heartbeat(static_cast<uint64_t>(settings_.route->heartbeat.interval.count()));
}

void SseStream::end_now() {
    ended_ = true;
    detach();
    sink_.finish(CloseReason::Terminal);
}

void SseStream::start(Channel& channel, const ResumeDecision& decision) {
    channel_ = &channel;
    last_write_ms_ = sink_.now_ms();
    next_ = decision.next;
    channel.subscribe(*this);
    arm_heartbeat(static_cast<uint64_t>(settings_.route->heartbeat.interval.count()));
    // An evicted-history gap (not a reset): a broker that keeps history may still hold
    // those events.
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
    std::weak_ptr<bool> alive = alive_;
    settings_.older->fetch(channel_->name(), from, to,
                           [this, alive, from, to](std::vector<history::StoredEvent> evs) {
                               auto a = alive.lock();
                               if (!a || !*a) return;
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

void SseStream::on_drained() {
    if (!live_ && !ended_ && !backfilling_) pump();
}

void SseStream::pump() {
    // Replay from history while the socket keeps up; the next on_drained() resumes.
    // Replay is paced by the socket and never counts against client_buffer.
    if (pumping_ || backfilling_ || !channel_) return;
    pumping_ = true;
    const auto& hist = channel_->history();
    while (!ended_ && !live_) {
        if (sink_.unsent_bytes() >= settings_.replay_window) break;
        const history::StoredEvent* ev = hist.first_at_or_after(next_);
        if (!ev) {
            // Nothing held at or after next_: any positions up to head are gone.
            if (next_ <= hist.head()) {
                send_gap(next_, hist.head());
                next_ = hist.head() + 1;
            }
            live_ = true;
            break;
        }
        if (ev->position > next_) send_gap(next_, ev->position - 1);
        if (!deliver(*ev)) break;
    }
    pumping_ = false;
}

bool SseStream::deliver(const history::StoredEvent& ev) {
    sink_.send(ev.encoded);
    next_ = ev.position + 1;
    last_write_ms_ = sink_.now_ms();
    ++events_sent_;
    counters_.on_delivered(1, ev.encoded->size());
    bool terminal = channel_ ? channel_->ends_stream(ev, settings_.route->terminal)
                             : is_terminal(settings_.route->terminal, ev.type);
    if (terminal) {
        ended_ = true;
        detach();
        sink_.finish(CloseReason::Terminal);
        return false;
    }
    return true;
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
    if (!deliver(ev)) return;
    if (sink_.unsent_bytes() > settings_.client_buffer) {
        // The client cannot keep up with live events: disconnect it (it resumes by
        // position) rather than grow memory or drop events silently.
        ended_ = true;
        detach();
        counters_.on_slow_disconnect();
        sink_.abort(CloseReason::Slow);
    }
}

void SseStream::on_channel_reset(Channel&) {
    if (ended_) return;
    if (backfilling_) {
        // The reply would carry the previous life's events: let it find this stream gone.
        *alive_ = false;
        alive_ = std::make_shared<bool>(true);
        backfilling_ = false;
    }
    if (next_ > 1) send_gap(1, next_ - 1, true);
    next_ = 1;
    live_ = true;  // the channel is empty now: the next event is position 1
}

void SseStream::arm_heartbeat(uint64_t delay_ms) { wheel_.schedule(heartbeat_, delay_ms); }

void SseStream::heartbeat_cb(void* self) noexcept { static_cast<SseStream*>(self)->on_heartbeat(); }

void SseStream::on_heartbeat() {
    if (ended_) return;
    uint64_t interval = static_cast<uint64_t>(settings_.route->heartbeat.interval.count());
    uint64_t now = sink_.now_ms();
    uint64_t idle = now - last_write_ms_;
    if (idle + wheel_.tick_ms() / 2 >= interval) {
        sink_.send(heartbeat_bytes(settings_.route->heartbeat.mode));
        last_write_ms_ = now;
        arm_heartbeat(interval);
    } else {
        arm_heartbeat(interval - idle);
    }
}

}  // namespace sluice::sse
