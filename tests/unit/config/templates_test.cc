// The load-time checks of path templates, prefixes, channel templates and addresses.
#include <catch2/catch.hpp>

#include "gateway/config/address.h"
#include "gateway/config/templates.h"

using namespace sluice::config;
using Names = std::vector<std::string>;

TEST_CASE("path templates: literal segments and whole-segment captures", "[config]") {
    Names caps;
    CHECK(check_path_template("/", caps).empty());
    CHECK(caps.empty());
    CHECK(check_path_template("/api/analysis/{id}/stream", caps).empty());
    CHECK(caps == Names{"id"});
    CHECK(check_path_template("/t/{tenant}/{job_2}/", caps).empty());
    CHECK(caps == Names{"tenant", "job_2"});
    CHECK(check_path_template("/a%20b/~x", caps).empty());

    CHECK(check_path_template("", caps) == "must start with '/'");
    CHECK(check_path_template("/a//b", caps) == "empty segment ('//') in path");
    CHECK(check_path_template("/a/{1d}", caps) ==
          "invalid capture name '1d' (use letters, digits and _, like {id})");
    CHECK(check_path_template("/a/{}", caps) ==
          "invalid capture name '' (use letters, digits and _, like {id})");
    CHECK(check_path_template("/a/{id", caps) ==
          "a capture must be a whole segment like /{id}/, got '{id'");
    CHECK(check_path_template("/a?x=1", caps) ==
          "a path cannot contain a query or fragment ('?', '#')");
    CHECK(check_path_template("/a b", caps) == "invalid character ' ' (space) in path");
    CHECK(check_path_template("/a%2", caps) == "bad percent escape in 'a%2' (expected %XX)");
}

TEST_CASE("prefixes are literal", "[config]") {
    CHECK(check_prefix("/").empty());
    CHECK(check_prefix("/api/").empty());
    CHECK(check_prefix("api/") == "must start with '/'");
    CHECK(check_prefix("/api/{v}") == "a prefix is literal; use 'path' for {captures}");
}

TEST_CASE("channel templates: [A-Za-z0-9_.:-] and {name} placeholders", "[config]") {
    Names names;
    CHECK(check_channel_template("news", names).empty());
    CHECK(names.empty());
    CHECK(check_channel_template("analysis:{id}", names).empty());
    CHECK(names == Names{"id"});
    CHECK(check_channel_template("t.{a}-{b}_x", names).empty());
    CHECK(names == Names{"a", "b"});

    CHECK(check_channel_template("", names) == "must not be empty");
    CHECK(check_channel_template("a?", names) ==
          "invalid character '?' in channel (allowed: letters, digits and _ . : -)");
    CHECK(check_channel_template("a}", names) == "unmatched '}' in channel");
    CHECK(check_channel_template("a:{x-y}", names) ==
          "invalid placeholder name 'x-y' (use letters, digits and _, like {id})");
    // The router refuses these; the config check must too, so the error has a column
    // (found by tests/fuzz/router_fuzz.cc).
    CHECK(check_channel_template("a:{id}:{id}", names) == "placeholder {id} appears twice");
}

TEST_CASE("listen addresses: numeric IPv4, bracketed IPv6, port 0..65535", "[config]") {
    ListenAddress a;
    CHECK(parse_listen_address("0.0.0.0:0", a).empty());
    CHECK(a.host == "0.0.0.0");
    CHECK(a.port == 0);
    CHECK(parse_listen_address("[::]:65535", a).empty());
    CHECK(a.host == "::");
    CHECK(a.port == 65535);
    CHECK(parse_listen_address("localhost:80", a).empty());
    CHECK(a.host == "127.0.0.1");

    CHECK(parse_listen_address("8080", a) == "expected host:port, like 127.0.0.1:8080");
    CHECK(parse_listen_address(":8080", a) == "missing host before ':'");
    CHECK(parse_listen_address("[::1]8080", a) == "expected [address]:port, like [::1]:8080");
    CHECK(parse_listen_address("[::1:80", a) == "missing ']' after IPv6 address");
    CHECK(parse_listen_address("[1.2.3.4]:80", a) == "'1.2.3.4' is not an IPv6 address");
    CHECK(parse_listen_address("example.com:80", a) ==
          "host must be a numeric IPv4 address or a bracketed IPv6 address, got 'example.com'");
    CHECK(parse_listen_address("1.2.3.4:-1", a) ==
          "port must be a number from 0 to 65535, got '-1'");
}

TEST_CASE("upstream servers may be host names but need a real port", "[config]") {
    CHECK(check_server_address("app.internal:3000").empty());
    CHECK(check_server_address("10.0.0.7:80").empty());
    CHECK(check_server_address("[fe80::1]:443").empty());
    CHECK(check_server_address("app:0") == "port must be from 1 to 65535, got 0");
    CHECK(check_server_address("app") == "expected host:port, like 127.0.0.1:8080");
    CHECK(check_server_address("-app:80") == "'-app' is not a valid host");
}
