#include "plugins/rate_limit/client_table.h"

#include <iterator>

namespace sluice::plugins::rate_limit {

Client* ClientTable::find_or_add(const std::string& key, uint64_t now_ms) {
    if (auto it = clients_.find(key); it != clients_.end()) {
        touch(it->second);
        return &it->second;
    }
    if (clients_.size() >= capacity_ && !make_room(now_ms)) return nullptr;
    auto [it, added] = clients_.emplace(key, Client{});
    Client& c = it->second;
    c.key = &it->first;
    c.bucket = full_bucket(rate_, now_ms);
    touch(c);
    return &c;
}

void ClientTable::touch(Client& c) {
    if (c.streams > 0) return;
    if (c.in_recency) recency_.erase(c.recency);
    recency_.push_front(&c);
    c.recency = recency_.begin();
    c.in_recency = true;
}

void ClientTable::add_stream(Client& c) {
    if (c.streams++ == 0 && c.in_recency) {
        recency_.erase(c.recency);
        c.in_recency = false;
    }
}

void ClientTable::remove_stream(Client& c) {
    if (c.streams == 0) return;
    if (--c.streams == 0) touch(c);
}

bool ClientTable::make_room(uint64_t now_ms) {
    if (recency_.empty()) return false;
    auto victim = std::prev(recency_.end());  // the least recently seen
    size_t looked = 0;
    for (auto it = recency_.rbegin(); it != recency_.rend() && looked < kScanForFull; ++it, ++looked) {
        if (bucket_full((*it)->bucket, rate_, now_ms)) {
            victim = std::prev(it.base());
            break;
        }
    }
    std::string key = *(*victim)->key;
    recency_.erase(victim);
    clients_.erase(key);
    return true;
}

const Client* ClientTable::find(const std::string& key) const {
    auto it = clients_.find(key);
    return it == clients_.end() ? nullptr : &it->second;
}

}  // namespace sluice::plugins::rate_limit
