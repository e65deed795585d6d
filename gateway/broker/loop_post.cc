#include "gateway/broker/loop_post.h"

#include <exception>

#include "gateway/core/log.h"

namespace sluice::broker {

// The handle's data holds a shared_ptr to the LoopPost until the close callback, so the
// object outlives every callback of its handle.
struct LoopPostCallbacks {
    static void uv_async_cb(uv_async_t* h) noexcept {
        auto self = *static_cast<std::shared_ptr<LoopPost>*>(h->data);
        try {
            self->run();
        } catch (const std::exception& e) {
            log::error("posted call failed", {{"error", e.what()}});
        } catch (...) {
            log::error("posted call failed");
        }
    }
    static void uv_close_cb(uv_handle_t* h) noexcept {
        auto* holder = static_cast<std::shared_ptr<LoopPost>*>(h->data);
        std::shared_ptr<LoopPost> self = std::move(*holder);
        delete holder;
        delete reinterpret_cast<uv_async_t*>(h);
        auto done = std::move(self->closed_done_);
        if (done) done();
    }
};

std::shared_ptr<LoopPost> LoopPost::create(uv_loop_t* loop) {
    std::shared_ptr<LoopPost> self(new LoopPost());
    self->async_ = new uv_async_t;
    uv_async_init(loop, self->async_, LoopPostCallbacks::uv_async_cb);
    self->async_->data = new std::shared_ptr<LoopPost>(self);
    return self;
}

void LoopPost::post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    queue_.push_back(std::move(fn));
    // Under the lock: close() takes it before uv_close, so the handle is not closing.
    uv_async_send(async_);
}

void LoopPost::run() {
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_) return;
        batch.swap(queue_);
    }
    for (auto& fn : batch) fn();
}

void LoopPost::close(std::function<void()> done) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_) return;
        closed_ = true;
        queue_.clear();
    }
    closed_done_ = std::move(done);
    uv_close(reinterpret_cast<uv_handle_t*>(async_), LoopPostCallbacks::uv_close_cb);
}

}  // namespace sluice::broker
