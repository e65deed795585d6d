// Tokens whose signature already verified, so that a client coming back with the same token
// (an EventSource reconnecting, a page opening several streams) does not pay for the
// signature again: with an RSA key that check is most of a stream's opening cost. Only the
// signature's result is remembered, for the exact token text and the keys of one Verifier
// (a reload builds a new one); exp, nbf, iss and aud are checked again on every use. Only
// tokens that verified get in, so a client sending garbage cannot fill it. Bounded, least
// recently used first out; one mutex (every worker loop verifies).
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::plugins::jwt {

class VerifiedTokenCache {
  public:
    explicit VerifiedTokenCache(size_t capacity) : capacity_(capacity) {}

    // Has this exact token verified before (and is still remembered)?
    bool contains(std::string_view token);
    // The token's signature verified.
    void insert(std::string_view token);
    size_t size() const;

  private:
    size_t capacity_;  // 0: nothing is remembered
    mutable std::mutex mutex_;
    std::list<std::string> order_;  // most recently used first
    std::unordered_map<std::string_view, std::list<std::string>::iterator> index_;  // views into order_
};

}  // namespace sluice::plugins::jwt
