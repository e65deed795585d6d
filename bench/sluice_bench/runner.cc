#include "bench/sluice_bench/runner.h"

#include <csignal>
#include <cstdio>

#include "bench/sluice_bench/clock.h"
#include "bench/sluice_bench/payload.h"

namespace sluice::bench {
namespace {

template <class Handle>
uv_handle_t* as_handle(Handle* h) {
    return reinterpret_cast<uv_handle_t*>(h);
}

}  // namespace

Runner::Runner(const Options& opt, uint64_t nofile_limit)
    : opt_(opt), nofile_limit_(nofile_limit), run_id_(new_run_id()) {
    uv_loop_init(&loop_);
    ledger_.last_seq.assign(opt.channels, 0);
    if (opt.connections > 0)
        pool_ = std::make_unique<SubscriberPool>(&loop_, opt, ledger_, run_id_);
    publisher_ = make_publisher(&loop_, opt, ledger_, run_id_);
}

Runner::~Runner() {
    // Handles belong to pool_ and publisher_; they are all closed by the time run() returns.
    pool_.reset();
    publisher_.reset();
}

double Runner::elapsed_s() const {
    return static_cast<double>(uv_now(&loop_) - start_ms_) / 1000.0;
}

Report Runner::run() {
    uv_update_time(&loop_);
    start_ms_ = uv_now(&loop_);
    start_unix_ms_ = realtime_ns() / 1'000'000;
    auto ms = [](double s) { return static_cast<uint64_t>(s * 1000.0 + 0.5); };

    for (uv_timer_t* t : {&check_timer_, &end_timer_, &storm_timer_}) {
        uv_timer_init(&loop_, t);
        t->data = this;
    }
    uv_timer_start(&check_timer_, check_cb, 0, 20);
    uv_timer_start(&end_timer_, end_cb, ms(opt_.duration_s), 0);
    if (opt_.storm_at_s && pool_) {
        storm_pending_ = true;
        uv_timer_start(&storm_timer_, storm_cb, ms(*opt_.storm_at_s), 0);
    }
    for (auto [sig, num] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM}}) {
        uv_signal_init(&loop_, sig);
        sig->data = this;
        uv_signal_start(sig, signal_cb, num);
    }
    if (pool_) pool_->start();

    uv_run(&loop_, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop_) != 0)
        std::fprintf(stderr, "sluice-bench: bug: leaked handle at exit\n");

    Report r;
    r.run_id = run_id_;
    r.start_unix_ms = start_unix_ms_;
    r.settled_s = settled_s_;
    if (publisher_ && publisher_->started()) {
        auto rel = [&](uint64_t t) { return static_cast<double>(t - start_ms_) / 1000.0; };
        r.publish_start_s = rel(publisher_->start_ms());
        r.publish_end_s = publisher_->end_ms() ? rel(publisher_->end_ms()) : elapsed_at_end_s_;
    }
    r.url = opt_.url;
    r.channels = opt_.channels;
    r.duration_s = opt_.duration_s;
    r.elapsed_s = elapsed_at_end_s_;
    r.interrupted = interrupted_;
    r.nofile_limit = nofile_limit_;
    r.target_rate_per_s = opt_.publish == PublishMode::None ? 0 : opt_.rate_per_s;
    r.target_events = opt_.events;
    r.size = opt_.size;
    if (pool_) r.sub = pool_->results();
    if (publisher_) r.pub = publisher_->results();
    return r;
}

void Runner::check_cb(uv_timer_t* t) noexcept { static_cast<Runner*>(t->data)->check(); }

void Runner::end_cb(uv_timer_t* t) noexcept { static_cast<Runner*>(t->data)->finish(false); }

void Runner::storm_cb(uv_timer_t* t) noexcept {
    auto* self = static_cast<Runner*>(t->data);
    self->storm_pending_ = false;
    self->pool_->storm();
}

void Runner::signal_cb(uv_signal_t* s, int) noexcept {
    static_cast<Runner*>(s->data)->finish(true);
}

void Runner::check() {
    if (finished_) return;
    double now = elapsed_s();
    if (settled_s_ < 0 && (!pool_ || pool_->settled())) settled_s_ = now;
    if (!publisher_) return;
    double window_end = opt_.duration_s - opt_.drain_s;
    if (!publisher_->started() && now < window_end) {
        // Start once every subscriber is connected (or has failed), so the first events find
        // them live; but never later than half-way through the window.
        if (!pool_ || pool_->settled() || now >= window_end / 2) publisher_->start();
    }
    if (publisher_->started() && now >= window_end) publisher_->stop();
    if (publisher_->started() && publisher_->finished() && !storm_pending_ &&
        (!pool_ || pool_->caught_up()))
        finish(false);
}

void Runner::finish(bool interrupted) {
    if (finished_) return;
    finished_ = true;
    interrupted_ = interrupted;
    elapsed_at_end_s_ = elapsed_s();
    for (uv_timer_t* t : {&check_timer_, &end_timer_, &storm_timer_})
        uv_close(as_handle(t), nullptr);
    uv_close(as_handle(&sigint_), nullptr);
    uv_close(as_handle(&sigterm_), nullptr);
    if (publisher_) publisher_->close();
    if (pool_) pool_->close();
}

}  // namespace sluice::bench
