// parse_redis_url: the broker.url forms (redis://, unix://), credentials, db, errors.
#include <catch2/catch.hpp>

#include "gateway/broker/redis_url.h"

using namespace sluice::broker;

namespace {

RedisEndpoint parse_ok(const char* url) {
    std::string error;
    auto ep = parse_redis_url(url, &error);
    INFO(url << " -> " << error);
    REQUIRE(ep.has_value());
    return *ep;
}

std::string parse_error(const char* url) {
    std::string error;
    auto ep = parse_redis_url(url, &error);
    INFO(url);
    CHECK_FALSE(ep.has_value());
    CHECK_FALSE(error.empty());
    return error;
}

}  // namespace

TEST_CASE("redis:// with host only uses port 6379 and db 0", "[broker][redis_url]") {
    auto ep = parse_ok("redis://redis.local");
    CHECK(ep.host == "redis.local");
    CHECK(ep.port == 6379);
    CHECK(ep.db == 0);
    CHECK(ep.password.empty());
    CHECK(ep.username.empty());
    CHECK_FALSE(ep.is_unix());
}

TEST_CASE("redis:// reads port, db and a trailing slash", "[broker][redis_url]") {
    auto ep = parse_ok("redis://127.0.0.1:6380/5");
    CHECK(ep.host == "127.0.0.1");
    CHECK(ep.port == 6380);
    CHECK(ep.db == 5);
    CHECK(parse_ok("redis://h:1/").db == 0);
    CHECK(parse_ok("REDIS://h").host == "h");
}

TEST_CASE("redis:// reads password and user:password", "[broker][redis_url]") {
    auto ep = parse_ok("redis://:s3cret@h:7000/2");
    CHECK(ep.password == "s3cret");
    CHECK(ep.username.empty());
    CHECK(ep.host == "h");
    CHECK(ep.port == 7000);
    CHECK(ep.db == 2);

    auto acl = parse_ok("redis://alice:pw@h");
    CHECK(acl.username == "alice");
    CHECK(acl.password == "pw");
}

TEST_CASE("redis:// credentials are percent-decoded and may hold '@'", "[broker][redis_url]") {
    auto ep = parse_ok("redis://:p%40ss%3Aw%2Fd@h");
    CHECK(ep.password == "p@ss:w/d");
    CHECK(ep.host == "h");
    // An unencoded '@' still works: the last '@' ends the credentials.
    auto raw = parse_ok("redis://:a@b@h:1");
    CHECK(raw.password == "a@b");
    CHECK(raw.host == "h");
}

TEST_CASE("redis:// takes bracketed IPv6 hosts", "[broker][redis_url]") {
    auto ep = parse_ok("redis://[::1]:6390/1");
    CHECK(ep.host == "::1");
    CHECK(ep.port == 6390);
    CHECK(ep.db == 1);
    CHECK(parse_ok("redis://[fe80::1]").port == 6379);
    parse_error("redis://::1:6379");
    parse_error("redis://[::1");
    parse_error("redis://[::1]x");
}

TEST_CASE("redis:// query keys db, password and username", "[broker][redis_url]") {
    auto ep = parse_ok("redis://h?db=4&password=pw&username=bob");
    CHECK(ep.db == 4);
    CHECK(ep.password == "pw");
    CHECK(ep.username == "bob");
    parse_error("redis://h?timeout=3");
    parse_error("redis://h?db");
}

TEST_CASE("unix:// reads the socket path and ?db=N", "[broker][redis_url]") {
    auto ep = parse_ok("unix:///run/redis/redis.sock");
    CHECK(ep.is_unix());
    CHECK(ep.unix_path == "/run/redis/redis.sock");
    CHECK(ep.host.empty());
    CHECK(ep.db == 0);

    auto db = parse_ok("unix:///tmp/r.sock?db=3");
    CHECK(db.unix_path == "/tmp/r.sock");
    CHECK(db.db == 3);

    auto creds = parse_ok("unix://:pw@/tmp/r.sock?db=1");
    CHECK(creds.password == "pw");
    CHECK(creds.unix_path == "/tmp/r.sock");
    CHECK(creds.db == 1);
}

TEST_CASE("malformed redis URLs are rejected with a reason", "[broker][redis_url]") {
    parse_error("");
    parse_error("http://h:6379");
    parse_error("redis://");
    parse_error("redis://:6379");
    parse_error("redis://h:0");
    parse_error("redis://h:65536");
    parse_error("redis://h:-1");
    parse_error("redis://h:port");
    parse_error("redis://h/x");
    parse_error("redis://h/-1");
    parse_error("redis://h/1/2");
    parse_error("redis://pw@h");  // ambiguous: user or password
    parse_error("redis://:%zz@h");
    parse_error("unix://");
    parse_error("unix://relative/path.sock");
    parse_error("unix:///tmp/r.sock?db=x");
    CHECK(parse_error("rediss://h").find("TLS") != std::string::npos);
    // error may be null
    CHECK_FALSE(parse_redis_url("nope", nullptr).has_value());
}

TEST_CASE("endpoint_display never shows the password", "[broker][redis_url]") {
    auto ep = parse_ok("redis://alice:topsecret@[::1]:7000/2");
    std::string shown = endpoint_display(ep);
    CHECK(shown == "[::1]:7000 db=2 user=alice");
    CHECK(shown.find("topsecret") == std::string::npos);
    CHECK(endpoint_display(parse_ok("unix:///tmp/r.sock?db=1")) == "unix:/tmp/r.sock db=1");
}
