// Fuzz target: tls::Session::feed, the first code that sees a TLS client's bytes.
//
// Input: byte 0 picks the mode and how the rest is cut into feed() calls; the rest is
// what the "client" sends.
//   mode 0: the bytes from the start of the connection (ClientHello parsing, not_tls)
//   mode 1: a real ClientHello (from an OpenSSL client) first, then the bytes
//   mode 2: a real TLS 1.3 handshake first, then the bytes as records on the
//           established connection
// Checked:
//  - a failed session stays failed (feed and write return false) and has a reason;
//  - no plaintext reaches the handler before the handshake completes;
//  - feed() returns false exactly when the session is failed;
//  - output stays small before the handshake (no amplification beyond one flight);
//  - shutdown() and take_output() are safe in every state.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "gateway/tls/server_context.h"
#include "gateway/tls/session.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/unit/tls/test_pki.h"

namespace {

using namespace sluice::tls;
using namespace sluice::tls::testing;

struct Setup {
    TempDir dir;
    ServerContextPtr context;
    std::string client_hello;
    Setup() {
        Issued ca = make_ca();
        CertRequest r;
        r.dns_names = {"fuzz.example"};
        ContextOptions o;
        o.certificates = {write_cert(dir, "fuzz", issue(r, &ca))};
        auto built = ServerContext::create(o);
        FUZZ_CHECK(std::holds_alternative<BuiltContext>(built));
        context = std::get<BuiltContext>(built).context;
        ClientOptions co;
        co.sni = "fuzz.example";
        co.alpn = {"h2", "http/1.1"};
        Client c(co);
        FUZZ_CHECK(c.step() == 0);
        client_hello = c.take_output();
        FUZZ_CHECK(!client_hello.empty());
    }
};

Setup& setup() {
    static Setup s;
    return s;
}

struct CheckingHandler final : Session::Handler {
    const Session* session = nullptr;
    void on_tls_established(const HandshakeInfo&) override {}
    void on_tls_plaintext(const char*, size_t len) override {
        FUZZ_CHECK(session->established());
        FUZZ_CHECK(len > 0);
    }
};

void feed_checked(Session& s, const uint8_t* data, size_t size, size_t piece) {
    for (size_t at = 0; at < size; at += piece) {
        size_t n = std::min(piece, size - at);
        bool was_failed = s.failed();
        bool ok = s.feed(reinterpret_cast<const char*>(data + at), n);
        FUZZ_CHECK(ok == !s.failed());
        if (was_failed) FUZZ_CHECK(!ok);
        if (s.failed()) FUZZ_CHECK(s.failure().has_value());
        if (!s.established()) FUZZ_CHECK(s.output_bytes() < 64 * 1024);
        s.take_output();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    Setup& env = setup();
    int mode = data[0] % 3;
    size_t piece = 1 + (data[0] / 3) * 97;  // 1, 98, 195, ... bytes per feed
    ++data;
    --size;

    CheckingHandler h;
    Session s(env.context, h);
    h.session = &s;
    std::unique_ptr<Client> client;
    if (mode == 1) {
        FUZZ_CHECK(s.feed(env.client_hello.data(), env.client_hello.size()));
        s.take_output();
    } else if (mode == 2) {
        ClientOptions co;
        co.sni = "fuzz.example";
        client = std::make_unique<Client>(co);
        FUZZ_CHECK(handshake(*client, s));
    }
    feed_checked(s, data, size, piece);
    if (s.failed()) FUZZ_CHECK(!s.write("x"));
    s.shutdown();
    s.take_output();
    return 0;
}
