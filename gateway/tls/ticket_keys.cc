#include "gateway/tls/ticket_keys.h"

#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace sluice::tls {
namespace {

TicketKey make_key(std::chrono::steady_clock::time_point now) {
    TicketKey k;
    k.made = now;
    // RAND_bytes fails only when the system has no entropy source at all; a process
    // without one must not hand out tickets it could not protect.
    if (RAND_bytes(k.name.data(), k.name.size()) != 1 ||
        RAND_bytes(k.aes_key.data(), k.aes_key.size()) != 1 ||
        RAND_bytes(k.hmac_key.data(), k.hmac_key.size()) != 1)
        throw std::runtime_error("no random bytes for a session-ticket key");
    return k;
}

}  // namespace

TicketKeyRing::TicketKeyRing(std::chrono::seconds rotation, Clock clock)
    : rotation_(rotation.count() > 0 ? rotation : std::chrono::seconds(1)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {
    keys_.push_front(make_key(clock_()));
}

void TicketKeyRing::rotate_if_due() {
    auto now = clock_();
    if (now - keys_.front().made < rotation_) return;
    keys_.push_front(make_key(now));
    // Rotation is lazy, so after a quiet spell the older keys may be far older than
    // kTicketKeysKept rotations: they go too, whatever their count.
    while (keys_.size() > kTicketKeysKept ||
           (keys_.size() > 1 && now - keys_.back().made >= rotation_ * kTicketKeysKept))
        keys_.pop_back();
}

TicketKey TicketKeyRing::current() {
    std::lock_guard<std::mutex> lock(mu_);
    rotate_if_due();
    return keys_.front();
}

std::optional<TicketKey> TicketKeyRing::find(const unsigned char* name, size_t len, bool& is_current) {
    std::lock_guard<std::mutex> lock(mu_);
    rotate_if_due();
    if (len != sizeof(TicketKey::name)) return std::nullopt;
    for (size_t i = 0; i < keys_.size(); ++i) {
        if (std::memcmp(keys_[i].name.data(), name, len) == 0) {
            is_current = i == 0;
            return keys_[i];
        }
    }
    return std::nullopt;
}

size_t TicketKeyRing::size_for_test() {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_.size();
}

}  // namespace sluice::tls
