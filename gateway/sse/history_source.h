// Where a stream or poll reads events older than the loop's local history: the broker's
// own history (Redis, sequenced channels). Implemented by the worker; sse/ never talks
// to a broker directly.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gateway/history/channel_history.h"

namespace sluice::sse {

class HistorySource {
  public:
    using FetchFn = std::function<void(std::vector<history::StoredEvent>)>;
    // False when the broker keeps no history (memory): callers report a gap at once.
    virtual bool can_fetch() const = 0;
    // Events from..to (inclusive) still held, oldest first. cb may run synchronously or
    // later; callers must check that what they captured is still alive.
    virtual void fetch(const std::string& channel, uint64_t from, uint64_t to, FetchFn cb) = 0;

  protected:
    virtual ~HistorySource() = default;
};

}  // namespace sluice::sse
