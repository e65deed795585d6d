// The clients one rate_limit filter remembers: at most `capacity` of them, each with its
// token bucket and its count of open streams. Not thread-safe: the filter guards it.
//
// When the table is full and a new client comes, one is forgotten to make room: the
// least recently seen client whose bucket has refilled (forgetting it loses nothing: it
// would start full again), looking at the kScanForFull least recent ones; if none of them
// has refilled, the least recently seen one anyway (its next request starts with a full
// bucket). A client with open streams is never forgotten (its count must stay right);
// when every client held has one, there is no room (find_or_add returns nullptr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

#include "plugins/rate_limit/token_bucket.h"

namespace sluice::plugins::rate_limit {

struct Client {
    TokenBucket bucket;
    uint64_t streams = 0;
    // Place in the recency list; only clients without open streams are in it.
    std::list<Client*>::iterator recency;
    bool in_recency = false;
    const std::string* key = nullptr;  // the map's key (stable: map nodes do not move)
};

class ClientTable {
  public:
    static constexpr size_t kScanForFull = 32;

    ClientTable(size_t capacity, BucketRate rate) : capacity_(capacity), rate_(rate) {}

    // The client for `key` (marked most recently seen), added with a full bucket when new.
    // nullptr when the table is full of clients with open streams.
    Client* find_or_add(const std::string& key, uint64_t now_ms);

    // Open streams: a client with any is kept out of the eviction order.
    void add_stream(Client& c);
    void remove_stream(Client& c);

    size_t size() const { return clients_.size(); }
    const Client* find(const std::string& key) const;

  private:
    bool make_room(uint64_t now_ms);
    void touch(Client& c);

    size_t capacity_;
    BucketRate rate_;
    std::unordered_map<std::string, Client> clients_;
    std::list<Client*> recency_;  // front: most recently seen
};

}  // namespace sluice::plugins::rate_limit
