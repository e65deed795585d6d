#include "gateway/loop/dispatcher.h"

#include <algorithm>

namespace sluice::loop {

namespace {
constexpr int kFlushRounds = 4;  // flush passes per turn: a flush may queue more
// Rounds of deferred calls per turn: a deferred call may defer the next step of a chain
// (an answered publish takes the next pipelined one, which defers its own publish).
constexpr int kDeferRounds = 64;
}  // namespace

// libuv trampolines for the dispatcher's own handles.
struct DispatcherCallbacks {
    static void tick(uv_timer_t* t) noexcept {
        auto* d = static_cast<Dispatcher*>(t->data);
        d->wheel_->advance(uv_now(d->loop_));
    }
    static void check(uv_check_t* c) noexcept { static_cast<Dispatcher*>(c->data)->end_of_turn(); }
    static void idle(uv_idle_t*) noexcept {}  // only keeps poll from blocking
    static void async(uv_async_t* a) noexcept { static_cast<Dispatcher*>(a->data)->run_posted(); }
};

Flushable::~Flushable() {
    if (queued_on_) queued_on_->forget_flushable(*this);
}

Dispatcher::Dispatcher(uv_loop_t* loop, uint64_t tick_ms) : loop_(loop) {
    uv_update_time(loop_);
    wheel_ = std::make_unique<TimerWheel>(tick_ms, uv_now(loop_));
    uv_timer_init(loop_, &tick_);
    tick_.data = this;
    uv_timer_start(&tick_, DispatcherCallbacks::tick, tick_ms, tick_ms);
    uv_check_init(loop_, &check_);
    check_.data = this;
    uv_check_start(&check_, DispatcherCallbacks::check);
    uv_idle_init(loop_, &idle_);
    idle_.data = this;
    uv_async_init(loop_, &async_, DispatcherCallbacks::async);
    async_.data = this;
    post_target_ = std::make_shared<PostHandle::Target>();
    post_target_->dispatcher = this;
}

Dispatcher::~Dispatcher() {
    {
        std::lock_guard<std::mutex> lock(post_target_->mutex);
        post_target_->dispatcher = nullptr;
    }
    run_remaining();
    for (Flushable* f : flush_)
        if (f) f->queued_on_ = nullptr;
}

bool Dispatcher::post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    if (!accepting_posts_) return false;  // the loop has finished: nothing left to act on
    posted_.push_back(std::move(fn));
    uv_async_send(&async_);
    return true;
}

bool PostHandle::post(std::function<void()> fn) const {
    if (!target_) return false;
    std::unique_lock<std::mutex> lock(target_->mutex);
    if (target_->dispatcher && target_->dispatcher->post(std::move(fn))) return true;
    lock.unlock();
    return false;  // fn (if not moved) is dropped here, outside the lock
}

void Dispatcher::run_posted() {
    std::vector<std::function<void()>> fns;
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        fns.swap(posted_);
    }
    for (auto& fn : fns) fn();
}

void Dispatcher::defer(std::function<void()> fn) {
    deferred_.push_back(std::move(fn));
    keep_awake();
}

void Dispatcher::doomed(std::unique_ptr<Deletable> d) {
    doomed_.push_back(std::move(d));
    keep_awake();
}

void Dispatcher::schedule_flush(Flushable& f) {
    if (f.queued_on_) return;
    f.queued_on_ = this;
    flush_.push_back(&f);
    keep_awake();
}

void Dispatcher::forget_flushable(Flushable& f) {
    std::replace(flush_.begin(), flush_.end(), &f, static_cast<Flushable*>(nullptr));
    std::replace(flushing_.begin(), flushing_.end(), &f, static_cast<Flushable*>(nullptr));
    f.queued_on_ = nullptr;
}

void Dispatcher::keep_awake() {
    if (idle_active_ || closed_) return;
    idle_active_ = true;
    uv_idle_start(&idle_, DispatcherCallbacks::idle);
}

void Dispatcher::end_of_turn() {
    run_deferred();
    if (turn_hook_) turn_hook_();
    run_flushes();
    run_deletes();
    bool more = !deferred_.empty() || !flush_.empty() || !doomed_.empty();
    if (!more && idle_active_) {
        idle_active_ = false;
        uv_idle_stop(&idle_);
    }
}

void Dispatcher::run_deferred() {
    // Round by round: a call deferred by a deferred call runs in the next round of this
    // same end of turn, so a chain of steps (pipelined publishes on one connection, each
    // answered before the next is parsed) is taken in one turn and its events go out in
    // one write per subscriber. Past kDeferRounds the rest waits for the next turn, so a
    // call that keeps deferring itself cannot hold the loop.
    for (int round = 0; round < kDeferRounds && !deferred_.empty(); ++round) {
        std::vector<std::function<void()>> batch;
        batch.swap(deferred_);
        for (auto& fn : batch) fn();
    }
}

void Dispatcher::run_flushes() {
    for (int round = 0; round < kFlushRounds && !flush_.empty(); ++round) {
        flushing_.clear();
        flushing_.swap(flush_);
        if (batch_) send_batch();
        for (size_t i = 0; i < flushing_.size(); ++i) {
            Flushable* f = flushing_[i];
            if (!f) continue;
            f->queued_on_ = nullptr;
            if (batch_ && offers_[i].fd >= 0) {
                f->offered(results_[i], offers_[i].count);
            } else {
                f->flush_now();
            }
        }
        flushing_.clear();
        if (batch_ && batch_->broken()) batch_.reset();
    }
}

void Dispatcher::send_batch() {
    offers_.assign(flushing_.size(), Offer{});
    iov_.clear();
    size_t offered = 0;
    for (size_t i = 0; i < flushing_.size(); ++i) {
        if (!flushing_[i]) continue;
        size_t first = iov_.size();
        int fd = flushing_[i]->offer(iov_);
        if (fd < 0) continue;
        offers_[i] = Offer{fd, first, iov_.size() - first};
        ++offered;
    }
    if (offered == 0) return;
    batched_sends_ += offered;
    batch_->send(offers_, iov_, results_);
}

void Dispatcher::run_deletes() {
    // A destructor may drop more objects: delete until none is left.
    while (!doomed_.empty()) {
        std::vector<std::unique_ptr<Deletable>> batch;
        batch.swap(doomed_);
        batch.clear();
    }
}

void Dispatcher::close() {
    if (closed_) return;
    closed_ = true;
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        accepting_posts_ = false;
    }
    idle_active_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

void Dispatcher::run_remaining() {
    while (!deferred_.empty() || !doomed_.empty()) {
        run_deferred();
        run_deletes();
    }
}

}  // namespace sluice::loop
