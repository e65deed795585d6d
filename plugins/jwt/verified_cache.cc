#include "plugins/jwt/verified_cache.h"

namespace sluice::plugins::jwt {

bool VerifiedTokenCache::contains(std::string_view token) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(token);
    if (it == index_.end()) return false;
    order_.splice(order_.begin(), order_, it->second);  // iterators and views stay valid
    return true;
}

void VerifiedTokenCache::insert(std::string_view token) {
    if (capacity_ == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (index_.count(token)) return;
    if (index_.size() >= capacity_) {
        index_.erase(order_.back());
        order_.pop_back();
    }
    order_.emplace_front(token);
    index_.emplace(order_.front(), order_.begin());
}

size_t VerifiedTokenCache::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return index_.size();
}

}  // namespace sluice::plugins::jwt
