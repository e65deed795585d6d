#include "bench/sluice_bench/options.h"

#include <catch2/catch.hpp>

using namespace sluice::bench;

namespace {

ParsedArgs args(std::initializer_list<std::string_view> a) { return parse_args({a}); }

}  // namespace

TEST_CASE("options: defaults target loopback and spread source addresses",
          "[bench][options]") {
    auto p = args({});
    REQUIRE(p.options);
    CHECK(p.options->target.endpoint.ip == "127.0.0.1");
    CHECK(p.options->target.endpoint.port == 8080);
    CHECK(p.options->target.path_template == "/bench/{c}/stream");
    CHECK(p.options->source_ips.size() == 253);
    CHECK(p.options->publish == PublishMode::Http);
}

TEST_CASE("options: values are parsed in both spellings", "[bench][options]") {
    auto p = args({"--connections=500", "--channels", "10", "--ramp", "200/s", "--duration",
                   "1500ms", "--drain=0.5", "--publish", "fcall", "--redis", "[::1]:7000",
                   "--rate", "50", "--events", "1000", "--size", "512", "--reconnect-storm-at",
                   "1s", "--source-ips", "127.0.0.5,127.0.0.9", "--header", "X-Test: 1"});
    REQUIRE(p.options);
    const auto& o = *p.options;
    CHECK(o.connections == 500);
    CHECK(o.channels == 10);
    CHECK(o.ramp_per_s == 200);
    CHECK(o.duration_s == Approx(1.5));
    CHECK(o.drain_s == Approx(0.5));
    CHECK(o.publish == PublishMode::Fcall);
    CHECK(o.redis.ip == "::1");
    CHECK(o.redis.port == 7000);
    CHECK(o.events == 1000);
    CHECK(o.size == 512);
    REQUIRE(o.storm_at_s);
    CHECK(*o.storm_at_s == Approx(1.0));
    CHECK(o.source_ips == std::vector<uint32_t>{0x7f000005, 0x7f000009});
    CHECK(o.headers == std::vector<std::string>{"X-Test: 1"});
}

TEST_CASE("options: addresses that are not loopback are rejected", "[bench][options]") {
    for (auto url : {"http://10.0.0.1:8080/x", "http://example.com/x", "http://[::2]:80/",
                     "http://0.0.0.0:8080/"}) {
        auto p = args({"--url", url});
        CHECK_FALSE(p.options);
        CHECK(p.error.find("not a loopback address") != std::string::npos);
    }
    CHECK_FALSE(args({"--publish-url", "http://192.168.1.1/p/{c}"}).options);
    CHECK_FALSE(args({"--publish", "redis", "--redis", "8.8.8.8:6379"}).options);
    CHECK_FALSE(args({"--source-ips", "10.0.0.1-10.0.0.9"}).options);
    CHECK(args({"--url", "http://localhost:9000/s/{i}"}).options);
    CHECK(args({"--url", "http://127.1.2.3:9000/s"}).options);
}

TEST_CASE("options: bad combinations and values are explained", "[bench][options]") {
    CHECK(args({"--bogus", "1"}).error == "unknown option --bogus");
    CHECK(args({"--connections"}).error == "option --connections needs a value");
    CHECK_FALSE(args({"--connections", "-1"}).options);
    CHECK_FALSE(args({"--url", "ftp://127.0.0.1/x"}).options);
    CHECK_FALSE(args({"--duration", "5", "--reconnect-storm-at", "6"}).options);
    CHECK_FALSE(args({"--duration", "2", "--drain", "2"}).options);
    CHECK_FALSE(args({"--connections", "0", "--publish", "none"}).options);
    CHECK_FALSE(args({"--url", "http://[::1]:8080/x", "--source-ips", "127.0.0.2"}).options);
    CHECK(args({"--help"}).help);
}

TEST_CASE("options: templates expand {i} and {c}", "[bench][options]") {
    CHECK(expand_template("/bench/{c}/stream?who={i}&x={y}", 42, 7) ==
          "/bench/7/stream?who=42&x={y}");
}

TEST_CASE("options: slow clients and peer publish formats", "[bench][options]") {
    auto p = args({"--stalled-fraction", "0.1", "--publish-format", "pushpin",
                   "--publish-channel", "room-{c}"});
    REQUIRE(p.options);
    CHECK(p.options->stalled_fraction == Approx(0.1));
    CHECK(p.options->publish_format == PublishFormat::Pushpin);
    CHECK(p.options->publish_channel == "room-{c}");
    auto d = args({});
    REQUIRE(d.options);
    CHECK(d.options->stalled_fraction == 0);
    CHECK(d.options->publish_format == PublishFormat::Raw);
    CHECK_FALSE(args({"--stalled-fraction", "1.5"}).options);
    CHECK_FALSE(args({"--stalled-fraction", "-0.1"}).options);
    CHECK_FALSE(args({"--publish-format", "xml"}).options);
}

TEST_CASE("options: TLS and HTTP/2 subscribers", "[bench][options]") {
    auto p = args({"--url", "https://127.0.0.1/s/{c}", "--h2-streams", "100"});
    REQUIRE(p.options);
    CHECK(p.options->target.tls);
    CHECK(p.options->target.endpoint.port == 443);
    CHECK(p.options->h2_streams == 100);
    auto plain = args({"--url", "http://127.0.0.1:9000/s"});
    REQUIRE(plain.options);
    CHECK_FALSE(plain.options->target.tls);
    CHECK(plain.options->h2_streams == 0);
    CHECK_FALSE(args({"--h2-streams", "0"}).options);
    CHECK(args({"--h2-streams", "10", "--stalled-fraction", "0.1"}).error.find("HTTP/1.1") !=
          std::string::npos);
    CHECK(args({"--publish-url", "https://127.0.0.1/p/{c}"}).error.find("plain HTTP") !=
          std::string::npos);
}
