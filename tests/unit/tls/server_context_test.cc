// Loading certificates for a ServerContext: names read from the certificate, explicit
// names, wildcard matching, and every error a bad file gives.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <variant>

#include "gateway/tls/certificate.h"
#include "gateway/tls/server_context.h"
#include "tests/unit/tls/test_pki.h"

using namespace sluice::tls;
using namespace sluice::tls::testing;

namespace {

CertificateError error_of(const CertificateSpec& spec) {
    CertificateResult r = load_certificate(spec);
    REQUIRE(std::holds_alternative<CertificateError>(r));
    return std::get<CertificateError>(r);
}

Issued leaf(const Issued& ca, std::vector<std::string> dns, const std::string& cn = "leaf") {
    CertRequest r;
    r.common_name = cn;
    r.dns_names = std::move(dns);
    return issue(r, &ca);
}

}  // namespace

TEST_CASE("names come from subjectAltName DNS entries, else the CN, else none", "[tls]") {
    TempDir dir;
    Issued ca = make_ca();
    auto names_of = [&](const CertificateSpec& spec) {
        CertificateResult r = load_certificate(spec);
        REQUIRE(std::holds_alternative<LoadedCertificate>(r));
        return std::get<LoadedCertificate>(r).names;
    };
    using Names = std::vector<std::string>;
    CHECK(names_of(write_cert(dir, "san", leaf(ca, {"A.example.com", "*.example.net"}, "ignored.example"))) ==
          Names{"a.example.com", "*.example.net"});
    CHECK(names_of(write_cert(dir, "cn", leaf(ca, {}, "cn.example.com"))) == Names{"cn.example.com"});
    CHECK(names_of(write_cert(dir, "none", leaf(ca, {}, "not a host name"))).empty());
    CHECK(names_of(write_cert(dir, "explicit", leaf(ca, {"a.example.com"}), nullptr, {"Other.Example"})) ==
          Names{"other.example"});
}

TEST_CASE("a chain file holds the leaf and its intermediates", "[tls]") {
    TempDir dir;
    Issued ca = make_ca();
    CertificateResult r = load_certificate(write_cert(dir, "chain", leaf(ca, {"a.example.com"}), &ca));
    REQUIRE(std::holds_alternative<LoadedCertificate>(r));
    CHECK(sk_X509_num(std::get<LoadedCertificate>(r).chain.get()) == 1);
}

TEST_CASE("certificate loading errors say which file and why", "[tls]") {
    TempDir dir;
    Issued ca = make_ca();
    Issued a = leaf(ca, {"a.example.com"});
    Issued b = leaf(ca, {"b.example.com"});
    CertificateSpec good = write_cert(dir, "a", a);

    SECTION("missing certificate file") {
        auto e = error_of({dir.path("nope.crt"), good.key_file, {}});
        CHECK(e.field == CertificateError::Field::Cert);
        CHECK(e.message == "cannot read '" + dir.path("nope.crt") + "': No such file or directory");
    }
    SECTION("missing key file") {
        auto e = error_of({good.cert_file, dir.path("nope.key"), {}});
        CHECK(e.field == CertificateError::Field::Key);
        CHECK(e.message == "cannot read '" + dir.path("nope.key") + "': No such file or directory");
    }
    SECTION("unreadable key file") {
        std::string key = dir.write("locked.key", pem(a.key.get()));
        REQUIRE(chmod(key.c_str(), 0) == 0);
        if (geteuid() == 0) {  // root reads it anyway
            CHECK(std::holds_alternative<LoadedCertificate>(load_certificate({good.cert_file, key, {}})));
            return;
        }
        auto e = error_of({good.cert_file, key, {}});
        CHECK(e.field == CertificateError::Field::Key);
        CHECK(e.message == "cannot read '" + key + "': Permission denied");
    }
    SECTION("not PEM") {
        std::string junk = dir.write("junk.crt", "hello\n");
        auto e = error_of({junk, good.key_file, {}});
        CHECK(e.field == CertificateError::Field::Cert);
        CHECK(e.message == "'" + junk + "' holds no PEM certificate");
        auto k = error_of({good.cert_file, junk, {}});
        CHECK(k.field == CertificateError::Field::Key);
        CHECK(k.message.starts_with("'" + junk + "' holds no usable PEM private key"));
    }
    SECTION("the certificate and key swapped") {
        auto e = error_of({good.key_file, good.cert_file, {}});
        CHECK(e.field == CertificateError::Field::Cert);
    }
    SECTION("a key that does not match its certificate") {
        std::string other_key = dir.write("b.key", pem(b.key.get()));
        auto e = error_of({good.cert_file, other_key, {}});
        CHECK(e.field == CertificateError::Field::Key);
        CHECK(e.message == "the key in '" + other_key + "' does not match the certificate in '" +
                               good.cert_file + "'");
    }
    SECTION("an encrypted key") {
        BioPtr bio(BIO_new(BIO_s_mem()));
        const char pass[] = "secret";
        PEM_write_bio_PrivateKey(bio.get(), a.key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                 const_cast<char*>(pass));
        char* data = nullptr;
        long n = BIO_get_mem_data(bio.get(), &data);
        std::string key = dir.write("enc.key", std::string(data, static_cast<size_t>(n)));
        auto e = error_of({good.cert_file, key, {}});
        CHECK(e.field == CertificateError::Field::Key);
        CHECK(e.message == "'" + key + "' holds no usable PEM private key (encrypted keys are not supported)");
    }
    SECTION("a key too weak to serve") {
        CertRequest r;
        r.dns_names = {"a.example.com"};
        r.rsa_bits = 512;  // under every OpenSSL security level above 0
        CertificateSpec weak = write_cert(dir, "weak", issue(r, &ca));
        auto e = error_of(weak);
        CHECK(e.field == CertificateError::Field::Cert);
        CHECK(e.message == "the certificate in '" + weak.cert_file + "' cannot be served: ee key too small");
    }
    SECTION("a bad explicit name") {
        auto e = error_of({good.cert_file, good.key_file, {"ok.example", "a.*.example"}});
        CHECK(e.field == CertificateError::Field::Names);
        CHECK(e.name_index == 1);
        CHECK(e.message == "'a.*.example': a wildcard is only allowed as the whole first label, like *.example.com");
    }
}

TEST_CASE("ServerContext::create names the certificate that failed", "[tls]") {
    TempDir dir;
    Issued ca = make_ca();
    ContextOptions o;
    o.certificates = {write_cert(dir, "a", leaf(ca, {"a.example.com"})), {dir.path("x.crt"), dir.path("x.key"), {}}};
    auto built = ServerContext::create(o);
    REQUIRE(std::holds_alternative<ContextError>(built));
    CHECK(std::get<ContextError>(built).certificate == 1);
    o.certificates.clear();
    auto none = ServerContext::create(o);
    REQUIRE(std::holds_alternative<ContextError>(none));
}

TEST_CASE("server names: which are valid, and what a wildcard covers", "[tls]") {
    CHECK(check_server_name("example.com").empty());
    CHECK(check_server_name("*.example.com").empty());
    CHECK(check_server_name("localhost").empty());
    CHECK_FALSE(check_server_name("").empty());
    CHECK_FALSE(check_server_name("*").empty());
    CHECK_FALSE(check_server_name("*.").empty());
    CHECK_FALSE(check_server_name("a*.example.com").empty());
    CHECK_FALSE(check_server_name("a..b").empty());
    CHECK_FALSE(check_server_name("-a.example").empty());
    CHECK_FALSE(check_server_name("a b").empty());
    CHECK_FALSE(check_server_name(std::string(64, 'a') + ".com").empty());

    CHECK(name_matches("example.com", "EXAMPLE.com"));
    CHECK(name_matches("example.com", "example.com."));
    CHECK_FALSE(name_matches("example.com", "www.example.com"));
    CHECK(name_matches("*.example.com", "www.example.com"));
    CHECK_FALSE(name_matches("*.example.com", "example.com"));
    CHECK_FALSE(name_matches("*.example.com", ".example.com"));
    CHECK_FALSE(name_matches("*.example.com", "a.b.example.com"));
    CHECK_FALSE(name_matches("*.example.com", "wwwexample.com"));
}
