// Counts occurrences in fixed windows of time and says when one window holds more than a
// limit: the HTTP/2 rapid-reset guard (a client's RST_STREAMs per window). Pure: the
// caller passes the clock, so tests need no loop.
#pragma once

#include <cstdint>

namespace sluice {

class RateWindow {
  public:
    RateWindow(uint64_t window_ms, uint64_t limit) : window_ms_(window_ms), limit_(limit) {}

    // Counts one at `now_ms`; true when the current window is now over the limit.
    bool add(uint64_t now_ms) {
        if (now_ms - start_ms_ >= window_ms_ || count_ == 0) {
            start_ms_ = now_ms;
            count_ = 0;
        }
        return ++count_ > limit_;
    }
    uint64_t count() const { return count_; }

  private:
    uint64_t window_ms_;
    uint64_t limit_;
    uint64_t start_ms_ = 0;
    uint64_t count_ = 0;
};

}  // namespace sluice
