// Session-ticket keys with rotation, shared by every connection of a ServerContext (and
// handed on to the next one on reload, so tickets survive a SIGHUP).
//
// Why our own ring instead of OpenSSL's built-in ticket key: OpenSSL makes one random
// key per SSL_CTX and never changes it, so the only way to rotate is to build a new
// SSL_CTX, which also drops every ticket at once, and a long-running process would
// otherwise encrypt every ticket for weeks with one key (a stolen key then decrypts all
// their sessions: no forward secrecy). Here a new key is made every `rotation`; tickets
// are issued with the newest and accepted with the kTicketKeysKept newest, and a ticket
// under an older key still resumes but is replaced by one under the newest.
//
// Rotation is lazy (checked when a ticket is issued or opened): no timer, no loop.
// Thread-safe: workers handshake concurrently with one ring.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

namespace sluice::tls {

inline constexpr size_t kTicketKeysKept = 3;

struct TicketKey {
    std::array<unsigned char, 16> name{};     // sent in clear inside the ticket
    std::array<unsigned char, 32> aes_key{};  // AES-256-CBC
    std::array<unsigned char, 32> hmac_key{}; // HMAC-SHA256
    std::chrono::steady_clock::time_point made;
};

class TicketKeyRing {
  public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    explicit TicketKeyRing(std::chrono::seconds rotation, Clock clock = {});

    // The key to issue a new ticket with (rotating first when it is due).
    TicketKey current();
    // The key named `name` when it is still accepted; `is_current` says whether it is
    // the newest (a ticket under an older one gets replaced).
    std::optional<TicketKey> find(const unsigned char* name, size_t len, bool& is_current);

    size_t size_for_test();

  private:
    void rotate_if_due();  // holds mu_

    std::chrono::seconds rotation_;
    Clock clock_;
    std::mutex mu_;
    std::deque<TicketKey> keys_;  // newest first
};

}  // namespace sluice::tls
