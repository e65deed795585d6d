#include "bench/sluice_bench/publisher.h"

#include <cmath>

#include "bench/sluice_bench/clock.h"
#include "bench/sluice_bench/payload.h"
#include "bench/sluice_bench/publisher_http.h"
#include "bench/sluice_bench/publisher_redis.h"

namespace sluice::bench {

Publisher::Publisher(uv_loop_t* loop, const Options& opt, PublishLedger& ledger,
                     std::string run_id)
    : loop_(loop), opt_(opt), ledger_(ledger), run_id_(std::move(run_id)) {}

void Publisher::start() {
    if (started_) return;
    started_ = true;
    uv_update_time(loop_);
    start_ms_ = uv_now(loop_);
    open();
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
    timer_open_ = true;
    // 1 ms is libuv's timer resolution; each tick sends everything that has come due, so
    // the long-run rate is exact and a slow tick is caught up on the next.
    uv_timer_start(&timer_, tick_cb, 0, 1);
}

void Publisher::tick_cb(uv_timer_t* t) noexcept { static_cast<Publisher*>(t->data)->tick(); }

void Publisher::tick() {
    if (stopped_) return;
    double elapsed_s = static_cast<double>(uv_now(loop_) - start_ms_) / 1000.0;
    auto due = static_cast<uint64_t>(std::floor(elapsed_s * opt_.rate_per_s)) + 1;
    if (opt_.events > 0 && due > opt_.events) due = opt_.events;
    while (submitted_ < due && can_accept()) {
        auto ch = static_cast<uint32_t>(submitted_ % opt_.channels);
        uint64_t seq = ++ledger_.last_seq[ch];
        payload_.clear();
        append_payload(payload_, run_id_, ch, seq, realtime_ns(), opt_.size);
        ++submitted_;
        submit(ch, seq, payload_);
    }
    flush();
    if (opt_.events > 0 && submitted_ >= opt_.events) stop();
}

void Publisher::stop() {
    if (stopped_) return;
    stopped_ = true;
    end_ms_ = started_ ? uv_now(loop_) : 0;
    if (timer_open_) uv_timer_stop(&timer_);
}

void Publisher::close() {
    stop();
    if (timer_open_) {
        timer_open_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    }
    if (started_) close_transport();
}

bool Publisher::finished() const { return stopped_ && unanswered() == 0; }

void Publisher::on_error(std::string_view what, uint64_t n) {
    if (n == 0) return;
    errors_ += n;
    if (first_error_.empty()) first_error_ = what;
}

PublisherResults Publisher::results() const {
    PublisherResults r;
    r.mode = std::string(publish_mode_name(opt_.publish));
    r.published = submitted_;
    r.acked = acked_;
    r.errors = errors_;
    r.first_error = first_error_;
    uint64_t end = stopped_ ? end_ms_ : uv_now(loop_);
    // The first event goes out at time 0, so n events span (n - 1) intervals.
    double span_s = static_cast<double>(end - start_ms_) / 1000.0;
    if (submitted_ > 1 && span_s > 0) r.rate_per_s = static_cast<double>(submitted_ - 1) / span_s;
    return r;
}

std::unique_ptr<Publisher> make_publisher(uv_loop_t* loop, const Options& opt,
                                          PublishLedger& ledger, const std::string& run_id) {
    switch (opt.publish) {
    case PublishMode::Http:
        return std::make_unique<HttpPublisher>(loop, opt, ledger, run_id);
    case PublishMode::Redis:
    case PublishMode::Fcall:
        return std::make_unique<RedisPublisher>(loop, opt, ledger, run_id);
    case PublishMode::None:
        break;
    }
    return nullptr;
}

}  // namespace sluice::bench
