// tls::Session against a real OpenSSL client, in-process on memory BIOs: handshakes
// (TLS 1.3, TLS 1.2), ALPN, SNI, resumption, application data both ways, shutdown, and
// every failure class. Certificates are made by test_pki.h at run time.
#include <catch2/catch.hpp>

#include <variant>

#include "gateway/tls/server_context.h"
#include "gateway/tls/session.h"
#include "tests/unit/tls/test_pki.h"

using namespace sluice::tls;
using namespace sluice::tls::testing;

namespace {

struct Fixture {
    TempDir dir;
    Issued ca = make_ca();

    CertificateSpec cert_for(const std::string& file, std::vector<std::string> dns, const std::string& cn,
                             long not_after_s = 86400) {
        CertRequest r;
        r.common_name = cn;
        r.dns_names = std::move(dns);
        r.not_after_s = not_after_s;
        Issued leaf = issue(r, &ca);
        return write_cert(dir, file, leaf);
    }

    ServerContextPtr context(std::vector<CertificateSpec> certs, std::vector<std::string> alpn = {"h2", "http/1.1"},
                             const ServerContext* previous = nullptr, TicketKeyRing::Clock clock = {}) {
        ContextOptions o;
        o.certificates = std::move(certs);
        o.alpn = std::move(alpn);
        auto built = ServerContext::create(o, previous, std::move(clock));
        REQUIRE(std::holds_alternative<BuiltContext>(built));
        return std::get<BuiltContext>(built).context;
    }

    ServerContextPtr default_context() { return context({cert_for("a", {"a.example.com"}, "cert A")}); }
};

ClientOptions trusting(const Issued& ca, std::string sni = "a.example.com") {
    ClientOptions o;
    o.trust = &ca;
    o.sni = std::move(sni);
    return o;
}

// Moves everything each side has to the other until neither has output.
void pump(Client& client, Session& session) {
    for (int i = 0; i < 100; ++i) {
        std::string to_server = client.take_output();
        std::string to_client = session.take_output();
        if (to_server.empty() && to_client.empty()) return;
        if (!to_server.empty()) session.feed(to_server.data(), to_server.size());
        client.give(to_client);
    }
}

Failure failed_handshake(Client& client, Session& session) {
    CHECK_FALSE(handshake(client, session));
    REQUIRE(session.failed());
    REQUIRE(session.failure().has_value());
    return *session.failure();
}

}  // namespace

TEST_CASE("a TLS 1.3 handshake completes and reports version, ALPN and SNI", "[tls]") {
    Fixture f;
    RecordingHandler h;
    Session s(f.default_context(), h);
    ClientOptions o = trusting(f.ca);
    o.alpn = {"h2", "http/1.1"};
    Client c(o);
    REQUIRE(handshake(c, s));
    CHECK(h.established == 1);
    CHECK(h.info.version == "TLSv1.3");
    CHECK(h.info.alpn == "h2");
    CHECK(h.info.server_name == "a.example.com");
    CHECK_FALSE(h.info.resumed);
    CHECK_FALSE(h.info.cipher.empty());
    CHECK(s.info().alpn == "h2");
    CHECK(SSL_get_verify_result(c.ssl()) == X509_V_OK);
}

TEST_CASE("a client limited to TLS 1.2 gets TLS 1.2 with an intermediate cipher", "[tls]") {
    Fixture f;
    RecordingHandler h;
    Session s(f.default_context(), h);
    ClientOptions o = trusting(f.ca);
    o.max_version = TLS1_2_VERSION;
    o.alpn = {"http/1.1"};
    Client c(o);
    REQUIRE(handshake(c, s));
    CHECK(h.info.version == "TLSv1.2");
    CHECK(h.info.alpn == "http/1.1");
    CHECK(h.info.cipher.find("ECDHE") == 0);
    CHECK(h.info.cipher.find("GCM") != std::string::npos);
}

TEST_CASE("ALPN: server preference, http/1.1, none offered, none in common", "[tls]") {
    Fixture f;
    auto ctx = f.default_context();
    SECTION("h2 is chosen over http/1.1 whatever the client's order") {
        RecordingHandler h;
        Session s(ctx, h);
        ClientOptions o = trusting(f.ca);
        o.alpn = {"http/1.1", "h2"};
        Client c(o);
        REQUIRE(handshake(c, s));
        CHECK(h.info.alpn == "h2");
    }
    SECTION("a client that offers only http/1.1 gets it") {
        RecordingHandler h;
        Session s(ctx, h);
        ClientOptions o = trusting(f.ca);
        o.alpn = {"http/1.1"};
        Client c(o);
        REQUIRE(handshake(c, s));
        CHECK(h.info.alpn == "http/1.1");
    }
    SECTION("a listener without http2 never picks h2") {
        RecordingHandler h;
        Session s(f.context({f.cert_for("b", {"a.example.com"}, "B")}, {"http/1.1"}), h);
        ClientOptions o = trusting(f.ca);
        o.alpn = {"h2", "http/1.1"};
        Client c(o);
        REQUIRE(handshake(c, s));
        CHECK(h.info.alpn == "http/1.1");
    }
    SECTION("no ALPN from the client: no protocol (the carrier assumes HTTP/1.1)") {
        RecordingHandler h;
        Session s(ctx, h);
        Client c(trusting(f.ca));
        REQUIRE(handshake(c, s));
        CHECK(h.info.alpn.empty());
    }
    SECTION("ALPN with nothing in common is refused with no_application_protocol") {
        RecordingHandler h;
        Session s(ctx, h);
        ClientOptions o = trusting(f.ca);
        o.alpn = {"spdy/3"};
        Client c(o);
        Failure fl = failed_handshake(c, s);
        CHECK(fl.reason == FailureReason::NoApplicationProtocol);
        CHECK(reason_name(fl.reason) == "no_application_protocol");
        CHECK(h.established == 0);
    }
}

TEST_CASE("SNI picks the certificate: exact name, wildcard, default", "[tls]") {
    Fixture f;
    auto ctx = f.context({
        f.cert_for("first", {"first.example.org"}, "first"),
        f.cert_for("wild", {"*.example.com"}, "wildcard"),
        f.cert_for("exact", {"api.example.com"}, "exact"),
    });
    auto served = [&](const std::string& sni, bool verify) {
        RecordingHandler h;
        Session s(ctx, h);
        ClientOptions o = verify ? trusting(f.ca, sni) : ClientOptions{};
        o.sni = sni;
        Client c(o);
        REQUIRE(handshake(c, s));
        CHECK(h.info.server_name == sni);
        return c.peer_common_name();
    };
    CHECK(served("api.example.com", true) == "exact");      // exact beats the wildcard listed before it
    CHECK(served("www.example.com", true) == "wildcard");
    CHECK(served("WWW.Example.COM", true) == "wildcard");   // names are case-insensitive
    CHECK(served("first.example.org", true) == "first");
    CHECK(served("a.b.example.com", false) == "first");     // a wildcard covers one label only
    CHECK(served("example.com", false) == "first");
    CHECK(served("other.test", false) == "first");
    RecordingHandler h;
    Session s(ctx, h);
    Client c(ClientOptions{});  // no SNI at all
    REQUIRE(handshake(c, s));
    CHECK(c.peer_common_name() == "first");
    CHECK(h.info.server_name.empty());
}

TEST_CASE("a session ticket resumes the session (TLS 1.3 and TLS 1.2)", "[tls]") {
    Fixture f;
    auto ctx = f.default_context();
    int version = GENERATE(TLS1_3_VERSION, TLS1_2_VERSION);
    CAPTURE(version);
    SSL_SESSION* ticket = nullptr;
    {
        RecordingHandler h;
        Session s(ctx, h);
        ClientOptions o = trusting(f.ca);
        o.max_version = version;
        Client c(o);
        REQUIRE(handshake(c, s));
        CHECK_FALSE(h.info.resumed);
        ticket = SSL_get1_session(c.ssl());
        REQUIRE(ticket != nullptr);
        REQUIRE(SSL_SESSION_is_resumable(ticket) == 1);
    }
    RecordingHandler h;
    Session s(ctx, h);
    ClientOptions o = trusting(f.ca);
    o.max_version = version;
    o.resume = ticket;
    Client c(o);
    REQUIRE(handshake(c, s));
    CHECK(h.info.resumed);
    CHECK(SSL_session_reused(c.ssl()) == 1);
    CHECK(h.info.server_name == "a.example.com");
    SSL_SESSION_free(ticket);
}

TEST_CASE("ticket keys rotate: an older key still resumes, a retired one does not", "[tls]") {
    Fixture f;
    auto now = std::chrono::steady_clock::now();
    auto clock = [&now] { return now; };
    auto ctx = f.context({f.cert_for("a", {"a.example.com"}, "A")}, {"h2", "http/1.1"}, nullptr, clock);
    auto first_ticket = [&] {
        RecordingHandler h;
        Session s(ctx, h);
        Client c(trusting(f.ca));
        REQUIRE(handshake(c, s));
        return SSL_get1_session(c.ssl());
    };
    auto resumes = [&](SSL_SESSION* t) {
        RecordingHandler h;
        Session s(ctx, h);
        ClientOptions o = trusting(f.ca);
        o.resume = t;
        Client c(o);
        REQUIRE(handshake(c, s));
        return h.info.resumed;
    };
    SSL_SESSION* t = first_ticket();
    now += std::chrono::minutes(90);  // one rotation later: the key is old but kept
    CHECK(resumes(t));
    CHECK(ctx->ticket_keys().size_for_test() == 2);
    now += std::chrono::hours(5);  // long past kTicketKeysKept rotations: retired
    CHECK_FALSE(resumes(t));
    CHECK(ctx->ticket_keys().size_for_test() == 1);
    SSL_SESSION_free(t);
}

TEST_CASE("application data flows both ways, 1 MiB in uneven pieces", "[tls]") {
    Fixture f;
    RecordingHandler h;
    Session s(f.default_context(), h);
    Client c(trusting(f.ca));
    REQUIRE(handshake(c, s));

    std::string big(1024 * 1024, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);

    // Client -> server: the ciphertext reaches the session in 1000-byte pieces, so
    // records are split across feeds.
    c.write(big);
    std::string wire = c.take_output();
    for (size_t at = 0; at < wire.size(); at += 1000) {
        size_t n = std::min<size_t>(1000, wire.size() - at);
        REQUIRE(s.feed(wire.data() + at, n));
    }
    CHECK(h.plaintext == big);

    // Server -> client: written in 64 KiB pieces, drained after each.
    std::string got;
    for (size_t at = 0; at < big.size(); at += 64 * 1024) {
        REQUIRE(s.write(std::string_view(big).substr(at, 64 * 1024)));
        c.give(s.take_output());
        got += c.read_all();
    }
    CHECK(got == big);
}

TEST_CASE("write() before the handshake completes is sent right after it", "[tls]") {
    Fixture f;
    RecordingHandler h;
    Session s(f.default_context(), h);
    CHECK(s.write("early"));
    CHECK_FALSE(s.write(std::string(kMaxEarlyPlaintext, 'x')));  // over the early budget
    Client c(trusting(f.ca));
    REQUIRE(handshake(c, s));
    c.give(s.take_output());
    CHECK(c.handshake_data + c.read_all() == "early");
}

TEST_CASE("write() refuses to grow undrained output past max_output", "[tls]") {
    Fixture f;
    RecordingHandler h;
    Session s(f.default_context(), h, 64 * 1024);
    Client c(trusting(f.ca));
    REQUIRE(handshake(c, s));
    CHECK(s.write(std::string(40 * 1024, 'a')));
    CHECK_FALSE(s.write(std::string(40 * 1024, 'b')));
    CHECK_FALSE(s.failed());  // a full buffer is back-pressure, not a failure
    c.give(s.take_output());
    CHECK(s.write(std::string(40 * 1024, 'b')));
}

TEST_CASE("shutdown sends close_notify; the peer's close_notify is reported", "[tls]") {
    Fixture f;
    RecordingHandler h;
    Session s(f.default_context(), h);
    Client c(trusting(f.ca));
    REQUIRE(handshake(c, s));
    SECTION("server closes") {
        REQUIRE(s.write("bye"));
        s.shutdown();
        CHECK(s.shut_down());
        CHECK_FALSE(s.write("more"));
        c.give(s.take_output());
        CHECK(c.read_all() == "bye");
        CHECK((SSL_get_shutdown(c.ssl()) & SSL_RECEIVED_SHUTDOWN) != 0);
    }
    SECTION("client closes") {
        c.write("last words");
        SSL_shutdown(c.ssl());
        std::string wire = c.take_output();
        CHECK(s.feed(wire.data(), wire.size()));
        CHECK(h.plaintext == "last words");
        CHECK(h.peer_closed);
        CHECK(s.peer_closed());
        CHECK_FALSE(s.failed());
    }
}

TEST_CASE("a plaintext HTTP request on the TLS port is not_tls, and nothing is sent back", "[tls]") {
    Fixture f;
    RecordingHandler h;
    Session s(f.default_context(), h);
    std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_FALSE(s.feed(req.data(), req.size()));
    REQUIRE(s.failure().has_value());
    CHECK(s.failure()->reason == FailureReason::NotTls);
    CHECK(reason_name(s.failure()->reason) == "not_tls");
    CHECK(s.take_output().empty());  // a TLS alert would be garbage to a plaintext client
    CHECK_FALSE(s.feed("x", 1));     // failed for good
}

TEST_CASE("a client offering only TLS 1.1 fails with protocol_version", "[tls]") {
    Fixture f;
    RecordingHandler h;
    Session s(f.default_context(), h);
    ClientOptions o;
    o.legacy = true;
    o.min_version = TLS1_VERSION;
    o.max_version = TLS1_1_VERSION;
    o.tls12_ciphers = "DEFAULT:@SECLEVEL=0";
    Client c(o);
    Failure fl = failed_handshake(c, s);
    CHECK(fl.reason == FailureReason::ProtocolVersion);
    CHECK(reason_name(fl.reason) == "protocol_version");
}

TEST_CASE("a client with no cipher in common fails with no_shared_cipher", "[tls]") {
    Fixture f;
    RecordingHandler h;
    Session s(f.default_context(), h);
    ClientOptions o;
    o.max_version = TLS1_2_VERSION;
    o.tls12_ciphers = "AES128-SHA";  // RSA key exchange, CBC: not in the intermediate list
    Client c(o);
    Failure fl = failed_handshake(c, s);
    CHECK(fl.reason == FailureReason::NoSharedCipher);
}

TEST_CASE("a client that does not trust our CA: unknown_ca; an expired certificate: bad_certificate", "[tls]") {
    Fixture f;
    SECTION("unknown CA") {
        RecordingHandler h;
        Session s(f.default_context(), h);
        Issued other_ca = make_ca("another CA");
        Client c(trusting(other_ca));
        CHECK(failed_handshake(c, s).reason == FailureReason::UnknownCa);
    }
    SECTION("expired") {
        CertificateSpec spec = f.cert_for("old", {"a.example.com"}, "old", -60);
        ContextOptions o;
        o.certificates = {spec};
        auto built = ServerContext::create(o);
        REQUIRE(std::holds_alternative<BuiltContext>(built));
        auto& b = std::get<BuiltContext>(built);
        REQUIRE(b.warnings.size() == 1);  // served, with a warning
        CHECK(b.warnings[0].find("has expired") != std::string::npos);
        RecordingHandler h;
        Session s(b.context, h);
        Client c(trusting(f.ca));
        Failure fl = failed_handshake(c, s);
        CHECK(fl.reason == FailureReason::BadCertificate);
        CHECK(reason_name(fl.reason) == "bad_certificate");
    }
}

TEST_CASE("garbage fails cleanly as other, and later bytes are ignored", "[tls]") {
    Fixture f;
    auto ctx = f.default_context();
    std::string garbage = GENERATE(std::string("\x16\x03\x01\x00\x05hello", 10), std::string(64, '\0'),
                                   std::string("\x17\x03\x03\x40\x00", 5) + std::string(20000, 'z'),
                                   std::string("\x16\x03\x01\xff\xff", 5) + std::string(70000, '\x01'));
    RecordingHandler h;
    Session s(ctx, h);
    CHECK_FALSE(s.feed(garbage.data(), garbage.size()));
    REQUIRE(s.failed());
    CHECK(s.failure()->reason == FailureReason::Other);
    CHECK_FALSE(s.failure()->detail.empty());
    CHECK_FALSE(s.feed(garbage.data(), garbage.size()));
    CHECK(h.established == 0);
    CHECK(h.plaintext.empty());
}

TEST_CASE("reload: running sessions keep the old certificate, new ones get the new", "[tls]") {
    Fixture f;
    auto old_ctx = f.context({f.cert_for("old", {"a.example.com"}, "old cert")});
    RecordingHandler old_h;
    auto old_session = std::make_unique<Session>(old_ctx, old_h);
    Client old_client(trusting(f.ca));
    REQUIRE(handshake(old_client, *old_session));
    SSL_SESSION* ticket = SSL_get1_session(old_client.ssl());

    auto new_ctx = f.context({f.cert_for("new", {"a.example.com"}, "new cert")}, {"h2", "http/1.1"}, old_ctx.get());
    old_ctx.reset();  // the server forgets the old context; the session still holds it

    RecordingHandler new_h;
    Session new_session(new_ctx, new_h);
    Client new_client(trusting(f.ca));
    REQUIRE(handshake(new_client, new_session));
    CHECK(new_client.peer_common_name() == "new cert");

    CHECK(old_client.peer_common_name() == "old cert");
    old_client.write("still here");
    pump(old_client, *old_session);
    CHECK(old_h.plaintext == "still here");
    REQUIRE(old_session->write("and answered"));
    old_client.give(old_session->take_output());
    CHECK(old_client.read_all() == "and answered");
    old_session.reset();

    // The ticket keys were handed over: a ticket from before the reload resumes.
    RecordingHandler h;
    Session s(new_ctx, h);
    ClientOptions o = trusting(f.ca);
    o.resume = ticket;
    Client c(o);
    REQUIRE(handshake(c, s));
    CHECK(h.info.resumed);
    SSL_SESSION_free(ticket);
}
