#include "plugins/forward_auth/check_cache.h"

namespace sluice::plugins::forward_auth {

CheckCache::CheckCache(std::chrono::milliseconds ttl, size_t capacity)
    : ttl_ms_(static_cast<uint64_t>(ttl.count())), capacity_(capacity ? capacity : 1) {}

CheckCache::Found CheckCache::find_or_wait(const std::string& key, uint64_t now_ms, Waiter waiter) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = entries_.find(key); it != entries_.end()) {
        if (now_ms < it->second.expires_ms) {
            lru_.splice(lru_.begin(), lru_, it->second.lru);
            return {Role::Cached, it->second.verdict};
        }
        lru_.erase(it->second.lru);
        entries_.erase(it);
    }
    auto [wit, first] = waiting_.try_emplace(key);
    wit->second.push_back(std::move(waiter));
    return {first ? Role::Lead : Role::Joined, nullptr};
}

void CheckCache::complete(const std::string& key, VerdictPtr verdict, uint64_t now_ms) {
    std::vector<Waiter> waiters;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto it = waiting_.find(key); it != waiting_.end()) {
            waiters = std::move(it->second);
            waiting_.erase(it);
        }
        if (ttl_ms_ > 0 && verdict->cacheable()) {
            if (auto it = entries_.find(key); it != entries_.end()) {
                lru_.erase(it->second.lru);
                entries_.erase(it);
            }
            lru_.push_front(key);
            entries_.emplace(key, Entry{verdict, now_ms + ttl_ms_, lru_.begin()});
            while (entries_.size() > capacity_) {
                entries_.erase(lru_.back());
                lru_.pop_back();
            }
        }
    }
    for (Waiter& w : waiters) w(verdict);
}

size_t CheckCache::cached() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
}

size_t CheckCache::in_flight() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return waiting_.size();
}

}  // namespace sluice::plugins::forward_auth
