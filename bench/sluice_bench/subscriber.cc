#include "bench/sluice_bench/subscriber.h"

#include <algorithm>
#include <cmath>

#include "bench/sluice_bench/clock.h"
#include "bench/sluice_bench/h2_client.h"
#include "bench/sluice_bench/http_response.h"
#include "bench/sluice_bench/payload.h"
#include "bench/sluice_bench/seq_tracker.h"
#include "bench/sluice_bench/sse_parser.h"
#include "bench/sluice_bench/tcp_client.h"

namespace sluice::bench {
namespace {

constexpr uint64_t kDefaultRetryMs = 1000;  // until the stream sends retry:
constexpr uint64_t kMaxRetryMs = 10'000;
constexpr int kStalledRecvBuffer = 4096;

// Whether connection `index` is one of the --stalled-fraction share. Multiplicative hashing
// spreads the chosen ones evenly over the indexes, and so over the channels (i % K).
bool is_stalled(uint32_t index, double fraction) {
    if (fraction <= 0) return false;
    uint32_t h = index * 2654435761u;
    return static_cast<double>(h) < fraction * 4294967296.0;
}

// SNI carries a host name, never an address literal.
std::string sni_name(const UrlTemplate& t) {
    std::string host = t.host_header.substr(0, t.host_header.rfind(':'));
    return host == "localhost" ? host : "";
}

}  // namespace

// One SSE client. The object lives for the whole run; its TCP handle comes and goes.
class SubscriberPool::Conn final : public TcpClient::Listener, public SseHandler {
public:
    enum class Attempt : uint8_t { Initial, Reconnect, Storm };

    Conn(SubscriberPool& pool, uint32_t index)
        : pool_(pool), index_(index), channel_(index % pool.opt_.channels),
          client_(pool.make_client(index, *this)),
          stalled_(is_stalled(index, pool.opt_.stalled_fraction)) {
        sink_ = [this](std::string_view body) { on_body(body); };
    }

    void connect(Attempt attempt) {
        attempt_ = attempt;
        phase_ = Phase::Connecting;
        next_ = Next::Nothing;
        head_seen_ = false;
        http_.reset();
        sse_.restart();
        ++pool_.in_progress_;
        attempt_start_ns_ = uv_hrtime();
        const auto& ips = pool_.opt_.source_ips;
        std::optional<uint32_t> src;
        if (!ips.empty()) src = ips[index_ % ips.size()];
        client_->open(pool_.dest_, src);
    }

    void drop_for_storm() {
        ++pool_.dropping_;
        phase_ = Phase::Idle;
        next_ = Next::ReconnectNow;
        client_->close();
    }

    void close_for_good() {
        open_at_end_ = phase_ == Phase::Streaming;
        next_ = Next::Nothing;
        phase_ = Phase::Idle;
        client_->close();
    }

    bool streaming() const { return phase_ == Phase::Streaming; }
    bool stalled() const { return stalled_; }
    bool open_at_end() const { return open_at_end_; }

    // Has everything published on its channel (per the ledger).
    bool caught_up() const {
        if (stalled_) return true;  // it reads nothing, so it owes nothing
        uint64_t last = pool_.ledger_.last_seq[channel_];
        const SeqTracker* t = find_track(channel_);
        if (!t || !t->started()) return last <= baseline_;
        return t->highest() >= last && t->missing() == 0;
    }

    uint64_t lost() const {
        if (stalled_) return 0;
        uint64_t n = 0;
        bool saw_own = false;
        for (const auto& [ch, t] : tracks_) {
            if (!open_at_end_) {
                n += t.missing();  // a stream that is gone owes only its inner gaps
                continue;
            }
            uint64_t last = pool_.ledger_.last_seq[ch];
            if (ch == channel_) {
                saw_own = true;
                n += t.lost(baseline_, last);
            } else {
                n += t.lost(t.first() - 1, last);
            }
        }
        if (open_at_end_ && !saw_own && live_once_) {
            uint64_t last = pool_.ledger_.last_seq[channel_];
            if (last > baseline_) n += last - baseline_;
        }
        return n;
    }

    // TcpClient::Listener
    void on_connected() override {
        const auto& o = pool_.opt_;
        std::string req = "GET " + path_() + " HTTP/1.1\r\nHost: " + o.target.host_header +
                          "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n";
        for (const auto& h : o.headers) req += h + "\r\n";
        if (!sse_.last_event_id().empty())
            req += "Last-Event-ID: " + std::string(sse_.last_event_id()) + "\r\n";
        req += "\r\n";
        client_->write(req);
    }

    void on_data(std::string_view bytes) override {
        http_.feed(bytes, sink_);
        if (phase_ != Phase::Connecting && phase_ != Phase::Streaming) return;
        if (http_.head_complete() && !head_seen_) on_head();
        if (http_.failed()) {
            fail_attempt_or_stream("bad response: " + http_.error());
        } else if (http_.done() && phase_ == Phase::Streaming) {
            // The server ended the body (chunked terminator or Content-Length).
            stream_closed("server ended the stream");
        }
    }

    void on_failed(int status) override {
        if (phase_ == Phase::Connecting) {
            attempt_failed(status == UV_EOF ? "connection closed before the response head"
                                            : uv_error_text(status));
        } else if (phase_ == Phase::Streaming) {
            stream_closed(status == UV_EOF ? "server closed the stream" : uv_error_text(status));
        }
    }

    void on_closed() override {
        Next next = next_;
        next_ = Next::Nothing;
        if (next == Next::ReconnectNow) --pool_.dropping_;
        if (pool_.closing_) return;
        if (next == Next::ReconnectNow) connect(Attempt::Storm);
        else if (next == Next::ReconnectLater) pool_.schedule_reconnect(index_, retry_ms_);
    }

    // SseHandler
    void on_event(const SseEvent& ev) override {
        if (stalled_) return;  // bytes that came with the head; a stalled client counts nothing
        auto& s = pool_.stats_;
        if (ev.type == "gap") {
            ++s.gaps;
            return;
        }
        auto p = parse_payload(ev.data);
        if (!p) {
            ++s.other_events;
            return;
        }
        if (p->run != pool_.run_id_ || p->ch >= pool_.opt_.channels) {
            ++s.foreign;
            return;
        }
        ++s.received;
        if (p->ts_ns < live_since_ns_) {
            ++s.replayed;  // published before this stream was live: catch-up, not latency
        } else {
            int64_t delta = realtime_ns() - p->ts_ns;
            s.latency_us.record(delta > 0 ? static_cast<uint64_t>(delta / 1000) : 0);
        }
        switch (track(p->ch).observe(p->seq)) {
        case SeqTracker::Outcome::Duplicate: ++s.duplicated; break;
        case SeqTracker::Outcome::Late: ++s.reordered; break;
        default: break;
        }
    }

    void on_comment(std::string_view) override { ++pool_.stats_.comments; }

    void on_retry(uint64_t ms) override { retry_ms_ = std::min(ms, kMaxRetryMs); }

private:
    enum class Phase : uint8_t { Idle, Connecting, Streaming, Done };
    enum class Next : uint8_t { Nothing, ReconnectNow, ReconnectLater };

    std::string path_() const {
        return expand_template(pool_.opt_.target.path_template, index_, channel_);
    }

    const SeqTracker* find_track(uint32_t ch) const {
        for (const auto& [c, t] : tracks_)
            if (c == ch) return &t;
        return nullptr;
    }

    SeqTracker& track(uint32_t ch) {
        for (auto& [c, t] : tracks_)
            if (c == ch) return t;
        tracks_.emplace_back(ch, SeqTracker{});
        return tracks_.back().second;
    }

    void on_body(std::string_view body) {
        if (!head_seen_) on_head();
        if (phase_ != Phase::Streaming) return;
        if (!sse_.feed(body, *this)) fail_attempt_or_stream("event larger than the parser limit");
    }

    void on_head() {
        head_seen_ = true;
        auto& s = pool_.stats_;
        int status = http_.status();
        if (status == 204) {
            // The channel has ended: like EventSource, stop for good.
            --pool_.in_progress_;
            ++s.ended;
            phase_ = Phase::Done;
            client_->close();
            return;
        }
        auto ctype = http_.header("content-type");
        if (status != 200 || !ctype || ctype->substr(0, 17) != "text/event-stream") {
            attempt_failed(status != 200 ? "HTTP " + std::to_string(status)
                                         : std::string("Content-Type is not text/event-stream"));
            client_->close();
            return;
        }
        --pool_.in_progress_;
        phase_ = Phase::Streaming;
        s.connect_us.record((uv_hrtime() - attempt_start_ns_) / 1000);
        live_since_ns_ = realtime_ns();
        if (!live_once_) {
            live_once_ = true;
            baseline_ = pool_.ledger_.last_seq[channel_];
        }
        if (stalled_) {
            ++s.stalled;
            client_->stop_reading();
        }
        if (attempt_ == Attempt::Initial) ++s.connected;
        else if (attempt_ == Attempt::Reconnect) ++s.reconnects;
        else {
            ++s.storm_reconnected;
            s.storm_ms = static_cast<double>(uv_hrtime() - pool_.storm_start_ns_) / 1e6;
        }
    }

    void attempt_failed(const std::string& why) {
        --pool_.in_progress_;
        ++pool_.stats_.failed;
        if (attempt_ == Attempt::Storm) ++pool_.stats_.storm_failed;
        pool_.note_error(index_, why);
        phase_ = Phase::Done;
    }

    void stream_closed(const std::string& why) {
        ++pool_.stats_.disconnects;
        pool_.note_error(index_, why);
        phase_ = stalled_ ? Phase::Done : Phase::Idle;  // a stalled client does not come back
        next_ = stalled_ ? Next::Nothing : Next::ReconnectLater;
        client_->close();
    }

    void fail_attempt_or_stream(const std::string& why) {
        if (phase_ == Phase::Connecting) {
            attempt_failed(why);
            client_->close();
        } else if (phase_ == Phase::Streaming) {
            stream_closed(why);
        }
    }

    SubscriberPool& pool_;
    uint32_t index_;
    uint32_t channel_;  // the channel its URL names (index % channels)
    std::unique_ptr<StreamClient> client_;
    HttpResponseParser http_;
    HttpResponseParser::BodySink sink_;
    SseParser sse_;
    std::vector<std::pair<uint32_t, SeqTracker>> tracks_;  // usually one entry
    Phase phase_ = Phase::Idle;
    Next next_ = Next::Nothing;
    Attempt attempt_ = Attempt::Initial;
    bool stalled_;  // one of the --stalled-fraction share: stops reading once live
    bool head_seen_ = false;
    bool live_once_ = false;
    bool open_at_end_ = false;
    uint64_t baseline_ = 0;  // channel's last seq when this client first went live
    uint64_t retry_ms_ = kDefaultRetryMs;
    uint64_t attempt_start_ns_ = 0;
    int64_t live_since_ns_ = 0;  // realtime of the current stream's response head
};

SubscriberPool::SubscriberPool(uv_loop_t* loop, const Options& opt, const PublishLedger& ledger,
                               std::string run_id)
    : loop_(loop), opt_(opt), ledger_(ledger), run_id_(std::move(run_id)) {
    const auto& ep = opt.target.endpoint;
    dest_ = *make_sockaddr(ep.ip, ep.port, ep.ipv6);
    if (opt.target.tls) tls_ = std::make_unique<TlsClientContext>(opt.h2_streams ? "h2" : "http/1.1");
    if (opt.h2_streams) {
        uint32_t n = (opt.connections + opt.h2_streams - 1) / opt.h2_streams;
        for (uint32_t i = 0; i < n; ++i)
            h2_.push_back(std::make_unique<H2Connection>(loop_, tls_.get(), sni_name(opt.target),
                                                         opt.target.tls ? "https" : "http"));
    }
    conns_.reserve(opt.connections);
    for (uint32_t i = 0; i < opt.connections; ++i)
        conns_.push_back(std::make_unique<Conn>(*this, i));
    stats_.connections = opt.connections;
}

SubscriberPool::~SubscriberPool() = default;

std::unique_ptr<StreamClient> SubscriberPool::make_client(uint32_t index, ClientListener& listener) {
    if (!h2_.empty()) return std::make_unique<H2StreamClient>(*h2_[index / opt_.h2_streams], listener);
    auto tcp = std::make_unique<TcpClient>(loop_, listener);
    if (is_stalled(index, opt_.stalled_fraction)) tcp->set_recv_buffer(kStalledRecvBuffer);
    if (tls_) tcp->set_tls(tls_.get(), sni_name(opt_.target));
    return tcp;
}

void SubscriberPool::start() {
    uv_update_time(loop_);
    start_ms_ = uv_now(loop_);
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
    timer_open_ = true;
    uv_timer_start(&timer_, tick_cb, 0, 10);
}

void SubscriberPool::tick_cb(uv_timer_t* t) noexcept {
    static_cast<SubscriberPool*>(t->data)->tick();
}

void SubscriberPool::tick() {
    if (closing_) return;
    uint64_t now = uv_now(loop_);
    double elapsed_s = static_cast<double>(now - start_ms_) / 1000.0;
    double allowed = std::floor(elapsed_s * opt_.ramp_per_s) + 1;
    auto target = static_cast<uint32_t>(std::min<double>(allowed, conns_.size()));
    while (started_ < target && !closing_) conns_[started_++]->connect(Conn::Attempt::Initial);
    while (!reconnects_.empty() && reconnects_.top().first <= now && !closing_) {
        uint32_t index = reconnects_.top().second;
        reconnects_.pop();
        conns_[index]->connect(Conn::Attempt::Reconnect);
    }
}

void SubscriberPool::schedule_reconnect(uint32_t index, uint64_t delay_ms) {
    reconnects_.emplace(uv_now(loop_) + delay_ms, index);
}

void SubscriberPool::note_error(uint32_t index, const std::string& what) {
    if (stats_.first_error.empty())
        stats_.first_error = "connection " + std::to_string(index) + ": " + what;
}

bool SubscriberPool::settled() const {
    return started_ == conns_.size() && in_progress_ == 0;
}

bool SubscriberPool::caught_up() const {
    if (in_progress_ > 0 || dropping_ > 0 || !reconnects_.empty()) return false;
    for (const auto& c : conns_)
        if (c->streaming() && !c->caught_up()) return false;
    return true;
}

void SubscriberPool::storm() {
    if (closing_) return;
    stats_.storm = true;
    stats_.storm_at_s = static_cast<double>(uv_now(loop_) - start_ms_) / 1000.0;
    storm_start_ns_ = uv_hrtime();
    for (auto& c : conns_) {
        if (!c->streaming() || c->stalled()) continue;
        ++stats_.storm_dropped;
        c->drop_for_storm();
    }
}

void SubscriberPool::close() {
    if (closing_) return;
    closing_ = true;
    for (auto& c : conns_) c->close_for_good();
    for (auto& h2 : h2_) h2->shutdown();
    if (timer_open_) {
        timer_open_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    }
}

SubscriberResults SubscriberPool::results() const {
    SubscriberResults r = stats_;
    r.lost = 0;
    r.open_at_end = 0;
    for (const auto& c : conns_) {
        r.lost += c->lost();
        if (c->open_at_end()) ++r.open_at_end;
    }
    return r;
}

}  // namespace sluice::bench
