// What the proxy needs from the event loop it runs on: the loop's dispatcher (timer wheel,
// read buffer, deferred deletes) and an observer for metrics. One per worker loop, shared
// by that loop's pools and connections (which keep it alive); never touched from another
// thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gateway/loop/dispatcher.h"

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
    loop::Dispatcher* dispatcher = nullptr;
    std::unique_ptr<Observer> observer = std::make_unique<Observer>();

    uint64_t now_ms() const { return dispatcher->now_ms(); }
    TimerWheel& wheel() const { return dispatcher->wheel(); }
};

using LoopContextPtr = std::shared_ptr<LoopContext>;

}  // namespace sluice::proxy
