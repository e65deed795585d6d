// The client side of tls::Session (sluice's connections to `tls: true` upstreams) against
// sluice's own server Session, in-process on memory BIOs: SNI and ALPN sent, the
// certificate verified against the CA file and the name, every refusal with its reason,
// verify: false, a plaintext answer; and ClientContext's file errors.
#include <catch2/catch.hpp>

#include <variant>

#include "gateway/tls/client_context.h"
#include "gateway/tls/server_context.h"
#include "gateway/tls/session.h"
#include "tests/unit/tls/test_pki.h"

using namespace sluice::tls;
using sluice::tls::testing::CertRequest;
using sluice::tls::testing::Issued;
using sluice::tls::testing::RecordingHandler;
using sluice::tls::testing::TempDir;

namespace {

struct Fixture {
    TempDir dir;
    Issued ca = sluice::tls::testing::make_ca();
    std::string ca_file = dir.write("ca.pem", sluice::tls::testing::pem(ca.cert.get()));

    CertificateSpec cert_for(const std::string& file, std::vector<std::string> dns, const Issued* by = nullptr) {
        CertRequest r;
        r.common_name = dns.empty() ? "client" : dns[0];
        r.dns_names = std::move(dns);
        return sluice::tls::testing::write_cert(dir, file, sluice::tls::testing::issue(r, by ? by : &ca));
    }

    ServerContextPtr server(std::vector<CertificateSpec> certs) {
        ContextOptions o;
        o.certificates = std::move(certs);
        auto built = ServerContext::create(o);
        REQUIRE(std::holds_alternative<BuiltContext>(built));
        return std::get<BuiltContext>(built).context;
    }

    ClientContextPtr client(ClientContextOptions o) {
        auto built = ClientContext::create(o);
        if (auto* e = std::get_if<ClientContextError>(&built)) FAIL(e->message);
        return std::get<ClientContextPtr>(built);
    }
};

// Moves bytes between the two sessions until neither has any; true when both are done.
bool pump(Session& client, Session& server) {
    for (int i = 0; i < 100; ++i) {
        std::string up = client.take_output();
        std::string down = server.take_output();
        if (up.empty() && down.empty()) break;
        if (!up.empty()) server.feed(up.data(), up.size());
        if (!down.empty()) client.feed(down.data(), down.size());
    }
    return client.established() && server.established();
}

ClientContextOptions opts(std::string ca_file, bool verify = true, std::string cert = "", std::string key = "") {
    ClientContextOptions o;
    o.ca_file = std::move(ca_file);
    o.verify = verify;
    o.cert_file = std::move(cert);
    o.key_file = std::move(key);
    return o;
}

}  // namespace

TEST_CASE("client session: verified against the CA file, SNI and ALPN sent, data both ways", "[tls][upstream]") {
    Fixture f;
    RecordingHandler ch, sh;
    Session server(f.server({f.cert_for("up", {"up.example.com"})}), sh);
    Session client(f.client(opts(f.ca_file)), "up.example.com", ch);
    REQUIRE(client.start());
    REQUIRE(pump(client, server));
    CHECK(sh.info.server_name == "up.example.com");
    CHECK(sh.info.alpn == "http/1.1");
    CHECK(ch.info.alpn == "http/1.1");
    REQUIRE(client.write("GET / HTTP/1.1\r\n\r\n"));
    REQUIRE(server.write("HTTP/1.1 204 No Content\r\n\r\n"));
    pump(client, server);
    CHECK(sh.plaintext == "GET / HTTP/1.1\r\n\r\n");
    CHECK(ch.plaintext == "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST_CASE("client session: a wrong name or an untrusted issuer is refused with the reason", "[tls][upstream]") {
    Fixture f;
    RecordingHandler ch, sh;
    SECTION("the certificate does not carry the name") {
        Session server(f.server({f.cert_for("up", {"up.example.com"})}), sh);
        Session client(f.client(opts(f.ca_file)), "other.example.com", ch);
        REQUIRE(client.start());
        CHECK_FALSE(pump(client, server));
        REQUIRE(client.failed());
        CHECK(client.failure()->reason == FailureReason::BadCertificate);
        CHECK(client.failure()->detail == "certificate verify failed: hostname mismatch");
        CHECK(ch.established == 0);
    }
    SECTION("issued by a CA the client does not trust") {
        Issued other = sluice::tls::testing::make_ca("other CA");
        Session server(f.server({f.cert_for("up", {"up.example.com"}, &other)}), sh);
        Session client(f.client(opts(f.ca_file)), "up.example.com", ch);
        REQUIRE(client.start());
        CHECK_FALSE(pump(client, server));
        REQUIRE(client.failed());
        CHECK(client.failure()->detail == "certificate verify failed: unable to get local issuer certificate");
    }
    SECTION("verify: false accepts it (the name is still sent)") {
        Issued other = sluice::tls::testing::make_ca("other CA");
        Session server(f.server({f.cert_for("up", {"up.example.com"}, &other)}), sh);
        Session client(f.client(opts("", false)), "wrong.example.com", ch);
        REQUIRE(client.start());
        CHECK(pump(client, server));
        CHECK(sh.info.server_name == "wrong.example.com");
    }
}

TEST_CASE("client session: a server answering in plaintext HTTP is not_tls", "[tls][upstream]") {
    Fixture f;
    RecordingHandler ch;
    Session client(f.client(opts(f.ca_file)), "up.example.com", ch);
    REQUIRE(client.start());
    CHECK_FALSE(client.take_output().empty());  // the ClientHello
    std::string answer = "HTTP/1.1 400 Bad Request\r\n\r\n";
    CHECK_FALSE(client.feed(answer.data(), answer.size()));
    CHECK(client.failure()->reason == FailureReason::NotTls);
    CHECK(client.failure()->detail == "the server answered in plaintext HTTP, not TLS");
}

TEST_CASE("client session: an IP address is verified as an IP and sent without SNI", "[tls][upstream]") {
    Fixture f;
    RecordingHandler ch, sh;
    // A certificate with only a DNS name: an address never matches it.
    Session server(f.server({f.cert_for("up", {"up.example.com"})}), sh);
    Session client(f.client(opts(f.ca_file)), "127.0.0.1", ch);
    REQUIRE(client.start());
    CHECK_FALSE(pump(client, server));
    CHECK(sh.info.server_name.empty());
    REQUIRE(client.failed());
    CHECK(client.failure()->detail == "certificate verify failed: IP address mismatch");
}

TEST_CASE("client context: file errors name the file; identical options are the same context", "[tls][upstream]") {
    Fixture f;
    auto error_of = [](ClientContextOptions o) {
        auto built = ClientContext::create(o);
        REQUIRE(std::holds_alternative<ClientContextError>(built));
        return std::get<ClientContextError>(built);
    };
    std::string missing = f.dir.path("missing.pem");
    ClientContextError e = error_of(opts(missing));
    CHECK(e.field == ClientContextError::Field::CaFile);
    CHECK(e.message == "cannot read '" + missing + "': No such file or directory");
    std::string junk = f.dir.write("junk.pem", "not a certificate\n");
    CHECK(error_of(opts(junk)).message == "'" + junk + "' holds no PEM certificate");
    CertificateSpec a = f.cert_for("a", {"a.example.com"}), b = f.cert_for("b", {"b.example.com"});
    e = error_of(opts(f.ca_file, true, a.cert_file, b.key_file));
    CHECK(e.field == ClientContextError::Field::Key);

    ClientContextPtr one = f.client(opts(f.ca_file)), two = f.client(opts(f.ca_file));
    CHECK(one->same_as(*two));
    CHECK_FALSE(one->same_as(*f.client(opts(f.ca_file, false))));
    f.dir.write("ca.pem", sluice::tls::testing::pem(sluice::tls::testing::make_ca("rotated").cert.get()));
    CHECK_FALSE(one->same_as(*f.client(opts(f.ca_file))));  // a rotated CA file
}
