// forward_auth's answers by credential, shared by every worker loop (one per route's
// filter): a bounded, least-recently-used cache of verdicts for `ttl`, and the checks in
// flight, so that concurrent requests with the same credential wait for one check
// instead of each sending their own.
//
//   find_or_wait(key)   fresh verdict cached  -> Cached (the verdict)
//                       a check in flight     -> Joined (the waiter runs at its end)
//                       neither               -> Lead: the caller runs the check, then
//                                                complete(key, verdict)
//   complete(key, v)    runs every waiter of key (the lead's included) with v, outside
//                       the lock, on the calling thread; keeps v for ttl if cacheable
//
// Thread-safe (one mutex). Waiters must not block: forward_auth's post to their loops.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "plugins/forward_auth/verdict.h"

namespace sluice::plugins::forward_auth {

class CheckCache {
  public:
    using VerdictPtr = std::shared_ptr<const Verdict>;
    using Waiter = std::function<void(const VerdictPtr&)>;

    // ttl 0: nothing is kept (checks are still shared while in flight).
    CheckCache(std::chrono::milliseconds ttl, size_t capacity);

    enum class Role { Cached, Joined, Lead };
    struct Found {
        Role role;
        VerdictPtr verdict;  // Cached only
    };
    // `now_ms`: a monotonic clock. `waiter` is kept unless the role is Cached.
    Found find_or_wait(const std::string& key, uint64_t now_ms, Waiter waiter);
    void complete(const std::string& key, VerdictPtr verdict, uint64_t now_ms);

    size_t cached() const;
    size_t in_flight() const;

  private:
    struct Entry {
        VerdictPtr verdict;
        uint64_t expires_ms;
        std::list<std::string>::iterator lru;  // position in lru_
    };

    const uint64_t ttl_ms_;
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    std::list<std::string> lru_;  // most recently used first
    std::unordered_map<std::string, std::vector<Waiter>> waiting_;
};

}  // namespace sluice::plugins::forward_auth
