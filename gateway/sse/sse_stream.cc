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

SseStream::~SseStream() { detach(); }

void SseStream::start(Channel& channel, const ResumeDecision& decision) {
    channel_ = &channel;
    last_write_ms_ = sink_.now_ms();
    if (decision.gap) send_gap(decision.gap->from, decision.gap->to);
    next_ = decision.next;
    channel.subscribe(*this);
    arm_heartbeat(static_cast<uint64_t>(settings_.route->heartbeat.interval.count()));
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
    if (!live_ && !ended_) pump();
}

void SseStream::pump() {
    // Replay from history while the socket keeps up; the next on_drained() resumes.
    // Replay is paced by the socket and never counts against client_buffer.
    if (pumping_ || !channel_) return;
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
    if (is_terminal(settings_.route->terminal, ev.type)) {
        ended_ = true;
        detach();
        sink_.finish(CloseReason::Terminal);
        return false;
    }
    return true;
}

void SseStream::send_gap(uint64_t from, uint64_t to) {
    sink_.send(encode_gap(from, to));
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
