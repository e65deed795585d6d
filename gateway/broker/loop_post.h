// LoopPost: runs functions on one loop's thread, posted from any thread (a uv_async and a
// locked queue). Posters share ownership, so a post that races close() is dropped, never
// run on freed memory. Functions run in the order they were posted.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace sluice::broker {

class LoopPost : public std::enable_shared_from_this<LoopPost> {
  public:
    // Call on the loop's thread.
    static std::shared_ptr<LoopPost> create(uv_loop_t* loop);
    // Any thread. Dropped after close().
    void post(std::function<void()> fn);
    // Loop thread: drops what is queued and closes the handle; done runs after the close.
    void close(std::function<void()> done);

  private:
    LoopPost() = default;
    void run();
    friend struct LoopPostCallbacks;

    uv_async_t* async_ = nullptr;  // heap-owned; freed in its close callback
    std::mutex mutex_;
    std::vector<std::function<void()>> queue_;
    bool closed_ = false;
    std::function<void()> closed_done_;
};

}  // namespace sluice::broker
