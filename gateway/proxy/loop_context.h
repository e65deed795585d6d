// What the proxy needs from the event loop it runs on: the loop, its timer wheel, the
// loop-wide read buffer, and an observer for metrics. One per worker loop, shared by that
// loop's pools and connections (which keep it alive); never touched from another thread.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "gateway/core/timer_wheel.h"

namespace sluice::proxy {

// Counts what happens to upstream requests; implemented by the app with its metrics.
class Observer {
  public:
    virtual ~Observer() = default;
    virtual void on_attempt(const std::string& /*upstream*/) {}  // a request sent to a server
    virtual void on_failure(const std::string& /*upstream*/, std::string_view /*reason*/) {}
    virtual void on_retry(const std::string& /*upstream*/) {}
};

struct LoopContext {
    uv_loop_t* loop = nullptr;
    TimerWheel* wheel = nullptr;
    uv_buf_t read_buf{};  // reads are consumed inside the read callback, so one is enough
    std::unique_ptr<Observer> observer = std::make_unique<Observer>();

    uint64_t now_ms() const { return uv_now(loop); }
};

using LoopContextPtr = std::shared_ptr<LoopContext>;

}  // namespace sluice::proxy
