// Upstream server addresses: splitting host:port and resolving them.
#include "gateway/proxy/server_address.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>

using namespace sluice::proxy;

TEST_CASE("host:port is split", "[proxy][address]") {
    auto a = parse_server_address("127.0.0.1:3000");
    REQUIRE(a);
    CHECK(a->host == "127.0.0.1");
    CHECK(a->port == 3000);
    auto b = parse_server_address("[::1]:8080");
    REQUIRE(b);
    CHECK(b->host == "::1");
    CHECK(b->port == 8080);
    auto c = parse_server_address("app.internal:80");
    REQUIRE(c);
    CHECK(c->host == "app.internal");
    CHECK(c->text == "app.internal:80");
    for (const char* bad : {"nohost", ":80", "h:", "h:0", "h:70000", "h:8x", "[::1]80", "[::1"}) {
        INFO(bad);
        CHECK_FALSE(parse_server_address(bad));
    }
}

TEST_CASE("numeric addresses resolve without a lookup", "[proxy][address]") {
    auto a = parse_server_address("127.0.0.1:3000");
    REQUIRE(resolve(*a));
    auto* in = reinterpret_cast<sockaddr_in*>(&a->addr);
    CHECK(in->sin_family == AF_INET);
    CHECK(ntohs(in->sin_port) == 3000);
    CHECK(ntohl(in->sin_addr.s_addr) == 0x7f000001);
    auto b = parse_server_address("[::1]:9");
    REQUIRE(resolve(*b));
    CHECK(b->addr.ss_family == AF_INET6);
    CHECK(ntohs(reinterpret_cast<sockaddr_in6*>(&b->addr)->sin6_port) == 9);
}

TEST_CASE("localhost resolves through the system resolver", "[proxy][address]") {
    auto a = parse_server_address("localhost:3000");
    REQUIRE(resolve(*a));
    CHECK(a->resolved);
    CHECK((a->addr.ss_family == AF_INET || a->addr.ss_family == AF_INET6));
}
