#include "gateway/app/tls_layer.h"

#include <algorithm>

namespace sluice::app {
namespace {
// A write is encrypted in pieces of at most this much, each moved to the stream before
// the next, so the session's output budget (tls::kDefaultMaxOutput) is never what refuses
// a write: the stream's watermarks are the one budget (they see every byte).
constexpr size_t kPiece = 1024 * 1024;
static_assert(kPiece * 2 <= tls::kDefaultMaxOutput, "a piece and its record overhead fit the budget");
}  // namespace

TlsLayer::TlsLayer(tls::ServerContextPtr context, net::TcpStream& stream, Upper& upper)
    : stream_(stream), upper_(upper), session_(std::move(context), *this) {}

bool TlsLayer::feed(const char* data, size_t len) {
    bool ok = session_.feed(data, len);
    move_output();  // also on failure: the alert, if the session has one to send
    return ok;
}

bool TlsLayer::write(std::string_view plaintext) {
    while (!plaintext.empty()) {
        size_t n = std::min(plaintext.size(), kPiece);
        if (!session_.write(plaintext.substr(0, n))) return false;
        move_output();
        plaintext.remove_prefix(n);
    }
    return true;
}

void TlsLayer::shutdown() {
    session_.shutdown();
    move_output();
}

void TlsLayer::move_output() {
    if (session_.output_bytes() == 0) return;
    stream_.write(session_.take_output());
}

}  // namespace sluice::app
