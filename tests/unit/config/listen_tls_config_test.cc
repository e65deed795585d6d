// listen: items as maps {address, tls, http2}: what they load to, every error as an exact
// file:line:col line (the certificates are real files, made by test_pki.h and loaded
// through tls/ at load time), and the ALPN list each listener offers.
#include <catch2/catch.hpp>

#include "gateway/config/config.h"
#include "tests/unit/tls/test_pki.h"

using namespace sluice::config;
using namespace sluice::tls::testing;

namespace {

using Lines = std::vector<std::string>;

// Listen lines start at line 2.
LoadResult load(const std::string& listen) {
    return load_config_string("broker: {type: redis}\n" + listen, "t.yaml");
}

Lines errors_of(const std::string& listen) {
    LoadResult r = load(listen);
    Lines out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    CHECK(bool(r.config) == out.empty());
    return out;
}

struct Certs {
    TempDir dir;
    Issued ca = make_ca();
    sluice::tls::CertificateSpec a, b, expired;
    Certs() {
        CertRequest r;
        r.dns_names = {"a.example.com"};
        a = write_cert(dir, "a", issue(r, &ca));
        r.dns_names = {"b.example.com"};
        b = write_cert(dir, "b", issue(r, &ca));
        r.not_after_s = -60;
        expired = write_cert(dir, "old", issue(r, &ca));
    }
};

}  // namespace

TEST_CASE("plain listen addresses load as before, with no tls and no http2", "[config][tls]") {
    LoadResult r = load("listen: [127.0.0.1:8080, '[::1]:8081']\n");
    REQUIRE(r.config);
    REQUIRE(r.config->listen.size() == 2);
    CHECK_FALSE(r.config->listen[0].tls);
    CHECK_FALSE(r.config->listen[0].http2);
    CHECK(r.config->listen[1].host == "::1");
    r = load("listen: 127.0.0.1:8080\n");
    REQUIRE(r.config);
    CHECK_FALSE(r.config->listen[0].tls);
}

TEST_CASE("a listen map: address, tls (cert/key or certificates) and http2", "[config][tls]") {
    Certs c;
    LoadResult r = load("listen:\n"
                        "  - 127.0.0.1:8080\n"
                        "  - address: 0.0.0.0:8443\n"
                        "    tls: {cert: " + c.a.cert_file + ", key: " + c.a.key_file + "}\n"
                        "  - address: 0.0.0.0:8444\n"
                        "    tls: {cert: " + c.a.cert_file + ", key: " + c.a.key_file + "}\n"
                        "    http2: false\n"
                        "  - {address: 127.0.0.1:8081, http2: true}\n"
                        "  - {address: 127.0.0.1:8082}\n"
                        "  - address: 0.0.0.0:8445\n"
                        "    tls:\n"
                        "      certificates:\n"
                        "        - {cert: " + c.a.cert_file + ", key: " + c.a.key_file + "}\n"
                        "        - cert: " + c.b.cert_file + "\n"
                        "          key: " + c.b.key_file + "\n"
                        "          names: [b.example.com, '*.b.example.com']\n");
    INFO((r.errors.empty() ? "" : r.errors[0].to_string()));
    REQUIRE(r.config);
    const auto& l = r.config->listen;
    REQUIRE(l.size() == 6);
    CHECK_FALSE(l[0].tls);
    REQUIRE(l[1].tls);
    CHECK(l[1].host == "0.0.0.0");
    CHECK(l[1].port == 8443);
    CHECK(l[1].http2);  // on by default with tls
    CHECK(l[1].tls->alpn == std::vector<std::string>{"h2", "http/1.1"});
    REQUIRE(l[1].tls->certificates.size() == 1);
    CHECK(l[1].tls->certificates[0].cert_file == c.a.cert_file);
    CHECK(l[1].tls->certificates[0].key_file == c.a.key_file);
    CHECK_FALSE(l[2].http2);
    CHECK(l[2].tls->alpn == std::vector<std::string>{"http/1.1"});
    CHECK_FALSE(l[3].tls);
    CHECK(l[3].http2);  // h2c with prior knowledge
    CHECK_FALSE(l[4].tls);
    CHECK_FALSE(l[4].http2);
    REQUIRE(l[5].tls->certificates.size() == 2);
    CHECK(l[5].tls->certificates[1].names == std::vector<std::string>{"b.example.com", "*.b.example.com"});
    CHECK(r.warnings.empty());
}

TEST_CASE("listen map errors point at the key or value", "[config][tls]") {
    Certs c;
    const std::string cert = c.a.cert_file, key = c.a.key_file;
    CHECK(errors_of("listen:\n  - {http2: true}\n") ==
          Lines{"t.yaml:3:5: missing required key 'address' in listen[0]"});
    CHECK(errors_of("listen:\n  - {address: 127.0.0.1:1, tsl: {}}\n") ==
          Lines{"t.yaml:3:28: unknown key 'tsl' in listen[0]"});
    CHECK(errors_of("listen:\n  - {address: 'nohost:1'}\n") ==
          Lines{"t.yaml:3:15: listen[0].address: host must be a numeric IPv4 address or a bracketed "
                "IPv6 address, got 'nohost'"});
    CHECK(errors_of("listen:\n  - {address: 127.0.0.1:1, http2: yes}\n") ==
          Lines{"t.yaml:3:35: listen[0].http2: expected true or false, got 'yes'"});
    CHECK(errors_of("listen:\n  - 127.0.0.1:1\n  - {address: 127.0.0.1:1}\n") ==
          Lines{"t.yaml:4:15: listen[1].address: address '127.0.0.1:1' is listed twice"});
    CHECK(errors_of("listen:\n  - {address: 127.0.0.1:1, tls: yes}\n") ==
          Lines{"t.yaml:3:33: listen[0].tls: expected a map of settings, got 'yes'"});
    CHECK(errors_of("listen:\n  - {address: 127.0.0.1:1, tls: {}}\n") ==
          Lines{"t.yaml:3:33: listen[0].tls: needs cert and key, like {cert: /etc/sluice/cert.pem, "
                "key: /etc/sluice/key.pem}, or a certificates list"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls: {cert: " + cert + "}\n") ==
          Lines{"t.yaml:4:10: missing required key 'key' in listen[0].tls"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls: {cert: " + cert + ", key: " + key +
                    ", chain: x}\n") ==
          Lines{"t.yaml:4:" + std::to_string(11 + 8 + cert.size() + 7 + key.size()) +
                ": unknown key 'chain' in listen[0].tls"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls:\n      cert: " + cert + "\n      key: " + key +
                    "\n      certificates: []\n") ==
          Lines{"t.yaml:7:7: listen[0].tls.certificates: give either cert and key, or a certificates "
                "list, not both"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls: {certificates: []}\n") ==
          Lines{"t.yaml:4:25: listen[0].tls.certificates: must list at least one certificate"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls:\n      certificates:\n        - {cert: " +
                    cert + ", key: " + key + ", names: []}\n") ==
          Lines{"t.yaml:6:" + std::to_string(11 + 6 + cert.size() + 7 + key.size() + 10) +
                ": listen[0].tls.certificates[0].names: must list at least one name (or leave names out "
                "to take them from the certificate)"});
    // Names in the short form are not an option: a list says which certificate they are for.
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls:\n      cert: " + cert + "\n      key: " + key +
                    "\n      names: [a]\n") ==
          Lines{"t.yaml:7:7: unknown key 'names' in listen[0].tls"});
}

TEST_CASE("certificate files are loaded at --check: unreadable, not PEM, mismatched, bad names", "[config][tls]") {
    Certs c;
    const std::string cert = c.a.cert_file, key = c.a.key_file;
    std::string missing = c.dir.path("missing.pem");
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls:\n      cert: " + missing + "\n      key: " + key +
                    "\n") ==
          Lines{"t.yaml:5:13: listen[0].tls.cert: cannot read '" + missing + "': No such file or directory"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls:\n      cert: " + cert + "\n      key: " + missing +
                    "\n") ==
          Lines{"t.yaml:6:12: listen[0].tls.key: cannot read '" + missing + "': No such file or directory"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls:\n      cert: " + key + "\n      key: " + key +
                    "\n") ==
          Lines{"t.yaml:5:13: listen[0].tls.cert: '" + key + "' holds no PEM certificate"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls:\n      cert: " + cert + "\n      key: " +
                    c.b.key_file + "\n") ==
          Lines{"t.yaml:6:12: listen[0].tls.key: the key in '" + c.b.key_file +
                "' does not match the certificate in '" + cert + "'"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls:\n      certificates:\n"
                    "        - cert: " + cert + "\n"
                    "          key: " + key + "\n"
                    "          names: [ok.example, 'a b']\n") ==
          Lines{"t.yaml:8:31: listen[0].tls.certificates[0].names[1]: 'a b' is not a host name"});
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls:\n      certificates:\n"
                    "        - cert: " + cert + "\n"
                    "          key: " + key + "\n"
                    "        - cert: " + c.b.cert_file + "\n"
                    "          key: " + key + "\n") ==
          Lines{"t.yaml:9:16: listen[0].tls.certificates[1].key: the key in '" + key +
                "' does not match the certificate in '" + c.b.cert_file + "'"});
    // Every error in the file, in order.
    CHECK(errors_of("listen:\n  - address: 127.0.0.1:1\n    tls: {cert: " + missing + ", key: " + key + "}\n"
                    "  - address: 127.0.0.1:2\n    tls: {}\n").size() == 2);
}

TEST_CASE("an expired certificate is accepted with a warning at its cert value", "[config][tls]") {
    Certs c;
    LoadResult r = load("listen:\n  - address: 127.0.0.1:1\n    tls:\n      cert: " + c.expired.cert_file +
                        "\n      key: " + c.expired.key_file + "\n");
    REQUIRE(r.errors.empty());
    REQUIRE(r.config);
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].to_string() == "t.yaml:5:13: listen[0].tls.cert: the certificate in '" +
                                           c.expired.cert_file +
                                           "' has expired; it is served anyway, but clients will refuse it");
}

TEST_CASE("ALPN offers h2 then http/1.1 with http2 (the default with tls), http/1.1 without", "[config][tls]") {
    Certs c;
    LoadResult r = load("listen:\n  - 127.0.0.1:8080\n  - address: '[::1]:8443'\n    tls: {cert: " +
                        c.a.cert_file + ", key: " + c.a.key_file + "}\n");
    REQUIRE(r.config);
    CHECK(r.config->listen[1].tls->alpn == std::vector<std::string>{"h2", "http/1.1"});
    r = load("listen:\n  - address: '[::1]:8443'\n    tls: {cert: " + c.a.cert_file + ", key: " +
             c.a.key_file + "}\n    http2: false\n");
    REQUIRE(r.config);
    CHECK(r.config->listen[0].tls->alpn == std::vector<std::string>{"http/1.1"});
    r = load("listen:\n  - {address: 127.0.0.1:8081, http2: true}\n");
    REQUIRE(r.config);
    CHECK(r.config->listen[0].http2);  // h2c with prior knowledge
    CHECK_FALSE(r.config->listen[0].tls);
}

TEST_CASE("relative cert and key paths are taken from the config file's folder", "[config][tls]") {
    Certs c;
    // The config "lives" in the certificates' folder and names them by file name only.
    std::string config_path = c.dir.path("sluice.yaml");
    LoadResult r = load_config_string("broker: {type: redis}\nlisten:\n  - address: 127.0.0.1:1\n"
                                      "    tls: {cert: a.crt, key: a.key}\n",
                                      config_path);
    INFO((r.errors.empty() ? "" : r.errors[0].to_string()));
    REQUIRE(r.config);
    REQUIRE(r.config->listen[0].tls);
    CHECK(r.config->listen[0].tls->certificates[0].cert_file == c.a.cert_file);
    CHECK(r.config->listen[0].tls->certificates[0].key_file == c.a.key_file);
    // An absolute path stays as it is; a missing relative one is reported resolved.
    r = load_config_string("broker: {type: redis}\nlisten:\n  - address: 127.0.0.1:1\n"
                           "    tls: {cert: nope.crt, key: a.key}\n",
                           config_path);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].to_string() == config_path + ":4:17: listen[0].tls.cert: cannot read '" +
                                         c.dir.path("nope.crt") + "': No such file or directory");
}
