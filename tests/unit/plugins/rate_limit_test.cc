// rate_limit: the token bucket's arithmetic on an injected clock, addresses and CIDRs,
// X-Forwarded-For behind trusted proxies, the bounded client table and its eviction
// order, the stream cap counted once per request, and option errors with file:line:col.
#include <catch2/catch.hpp>

#include "gateway/config/config.h"
#include "plugins/rate_limit/client_address.h"
#include "plugins/rate_limit/client_table.h"
#include "plugins/rate_limit/rate_limit.h"
#include "plugins/rate_limit/token_bucket.h"
#include "plugins/registry.h"
#include "tests/unit/support/fake_request.h"

using namespace sluice;
using namespace sluice::plugins::rate_limit;
using sluice::testing::FakeRequest;

namespace {

using Lines = std::vector<std::string>;

std::string config_with(const std::string& kind, const std::string& options) {
    return "broker: {type: redis}\nupstreams: {app: {servers: ['127.0.0.1:9']}}\nroutes:\n"
           "  - path: /a\n    " + kind + "\n    plugins:\n      - rate_limit: " + options + "\n";
}
const std::string kSse = "sse: {channel: a}";

Lines errors_of(const std::string& yaml) {
    config::LoadResult r = config::load_config_string(yaml, "t.yaml", &plugins::builtin_registry());
    Lines out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    return out;
}

std::shared_ptr<RateLimitFilter> filter_for(const std::string& options) {
    config::LoadResult r = config::load_config_string(config_with(kSse, options), "t.yaml",
                                                      &plugins::builtin_registry());
    for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
    REQUIRE(r.errors.empty());
    pipeline::FilterChain chain;
    std::string error;
    REQUIRE(plugins::builtin_registry().build_chain(r.config->routes[0].plugins, {"/a", false}, chain, error));
    auto f = std::dynamic_pointer_cast<RateLimitFilter>(chain.filters().at(0));
    REQUIRE(f);
    return f;
}

FakeRequest request(const std::string& remote, uint64_t now_ms, pipeline::Headers headers = {}) {
    FakeRequest req;
    req.request.method = "GET";
    req.request.path = "/a";
    req.remote_address = remote;
    req.clock_ms = now_ms;
    for (auto& [n, v] : headers) req.request.headers.push_back({n, v});
    return req;
}

pipeline::HeadVerdict run(pipeline::Filter& f, FakeRequest& req) {
    return f.on_request_head(req, pipeline::Resume{});
}

std::string key(const std::string& ip) {
    auto b = parse_ip(ip);
    REQUIRE(b);
    return std::string(b->begin(), b->end());
}

std::vector<Cidr> cidrs(std::initializer_list<const char*> list) {
    std::vector<Cidr> out;
    for (const char* s : list) {
        Cidr c;
        REQUIRE(parse_cidr(s, c) == "");
        out.push_back(c);
    }
    return out;
}

}  // namespace

TEST_CASE("rate_limit: a bucket starts full, refills at the rate, caps at burst", "[plugins][rate_limit]") {
    BucketRate rate{10, 3};  // 10/s: one token every 100 ms
    TokenBucket b = full_bucket(rate, 1000);
    CHECK(take_token(b, rate, 1000).allowed);
    CHECK(take_token(b, rate, 1000).allowed);
    CHECK(take_token(b, rate, 1000).allowed);
    Take refused = take_token(b, rate, 1000);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.retry_after_s == 1);  // 100 ms rounds up to a second
    CHECK_FALSE(take_token(b, rate, 1099).allowed);
    CHECK(take_token(b, rate, 1100).allowed);   // one token after 100 ms
    CHECK_FALSE(take_token(b, rate, 1100).allowed);
    // A long pause refills to burst, not beyond.
    CHECK_FALSE(bucket_full(b, rate, 1200));
    CHECK(bucket_full(b, rate, 1400));
    for (int i = 0; i < 3; ++i) CHECK(take_token(b, rate, 60'000).allowed);
    CHECK_FALSE(take_token(b, rate, 60'000).allowed);
}

TEST_CASE("rate_limit: Retry-After is the wait for one token, rounded up", "[plugins][rate_limit]") {
    BucketRate slow{0.25, 1};  // one request every 4 s
    TokenBucket b = full_bucket(slow, 0);
    CHECK(take_token(b, slow, 0).allowed);
    CHECK(take_token(b, slow, 0).retry_after_s == 4);
    CHECK(take_token(b, slow, 1000).retry_after_s == 3);
    CHECK(take_token(b, slow, 2500).retry_after_s == 2);  // 1.5 s rounds up
    CHECK(take_token(b, slow, 3999).retry_after_s == 1);
    CHECK(take_token(b, slow, 4000).allowed);
}

TEST_CASE("rate_limit: a clock that goes back counts as no time", "[plugins][rate_limit]") {
    BucketRate rate{1, 1};
    TokenBucket b = full_bucket(rate, 5000);
    CHECK(take_token(b, rate, 5000).allowed);
    CHECK_FALSE(take_token(b, rate, 4990).allowed);  // another loop's clock, a little behind
    CHECK(b.last_ms == 5000);
    CHECK_FALSE(take_token(b, rate, 5999).allowed);
    CHECK(take_token(b, rate, 6000).allowed);
}

TEST_CASE("rate_limit: addresses and CIDRs", "[plugins][rate_limit]") {
    CHECK(parse_ip("10.1.2.3"));
    CHECK(parse_ip("2001:db8::1"));
    CHECK_FALSE(parse_ip("10.1.2"));
    CHECK_FALSE(parse_ip("example.com"));
    CHECK_FALSE(parse_ip(""));
    CHECK(key("::ffff:10.1.2.3") == key("10.1.2.3"));
    CHECK(key_text(key("10.1.2.3")) == "10.1.2.3");
    CHECK(key_text(key("2001:db8::1")) == "2001:db8::1");

    auto nets = cidrs({"10.0.0.0/8"});
    CHECK(nets[0].contains(*parse_ip("10.255.0.1")));
    CHECK_FALSE(nets[0].contains(*parse_ip("11.0.0.1")));
    auto odd = cidrs({"192.168.0.0/23", "2001:db8::/33", "127.0.0.1", "0.0.0.0/0"});
    CHECK(odd[0].contains(*parse_ip("192.168.1.200")));
    CHECK_FALSE(odd[0].contains(*parse_ip("192.168.2.1")));
    CHECK(odd[1].contains(*parse_ip("2001:db8:7fff::1")));
    CHECK_FALSE(odd[1].contains(*parse_ip("2001:db8:8000::1")));
    CHECK(odd[2].contains(*parse_ip("127.0.0.1")));
    CHECK_FALSE(odd[2].contains(*parse_ip("127.0.0.2")));
    CHECK(odd[3].contains(*parse_ip("8.8.8.8")));
    CHECK_FALSE(odd[3].contains(*parse_ip("2001:db8::1")));  // an IPv4 /0 is IPv4 only

    Cidr c;
    CHECK(parse_cidr("10.0.0.0/33", c) == "'10.0.0.0/33': the prefix length is at most 32");
    CHECK(parse_cidr("::/129", c) == "'::/129': the prefix length is at most 128");
    CHECK(parse_cidr("10.0.0.0/x", c) == "'10.0.0.0/x': the prefix length after '/' is not a number");
    CHECK(parse_cidr("10.0.0.0/", c) == "'10.0.0.0/': the prefix length after '/' is not a number");
    CHECK(parse_cidr("proxy.local/8", c) ==
          "'proxy.local/8' is not an address or CIDR (10.0.0.0/8, 2001:db8::/32)");
}

TEST_CASE("rate_limit: X-Forwarded-For is read only from trusted proxies, right to left", "[plugins][rate_limit]") {
    auto trusted = cidrs({"10.0.0.0/8"});
    auto head = [](std::vector<std::string> xff) {
        http::RequestHead h;
        for (auto& v : xff) h.headers.push_back({"X-Forwarded-For", v});
        return h;
    };
    // No trusted proxies, or a peer that is not one: the peer, whatever the header says.
    CHECK(client_key("203.0.113.9", head({"198.51.100.1"}), {}) == key("203.0.113.9"));
    CHECK(client_key("203.0.113.9", head({"198.51.100.1"}), trusted) == key("203.0.113.9"));
    // A trusted peer: the first untrusted hop from the right; a client cannot hide behind
    // addresses it writes on the left.
    CHECK(client_key("10.0.0.1", head({"6.6.6.6, 198.51.100.1"}), trusted) == key("198.51.100.1"));
    CHECK(client_key("10.0.0.1", head({"198.51.100.1, 10.0.0.7"}), trusted) == key("198.51.100.1"));
    CHECK(client_key("10.0.0.1", head({"6.6.6.6", "198.51.100.1 , 10.0.0.7"}), trusted) ==
          key("198.51.100.1"));
    CHECK(client_key("10.0.0.1", head({"[2001:db8::5]:443"}), trusted) == key("2001:db8::5"));
    CHECK(client_key("10.0.0.1", head({"198.51.100.1:5555"}), trusted) == key("198.51.100.1"));
    // Only trusted hops: the leftmost. No header: the peer.
    CHECK(client_key("10.0.0.1", head({"10.0.0.3, 10.0.0.2"}), trusted) == key("10.0.0.3"));
    CHECK(client_key("10.0.0.1", head({}), trusted) == key("10.0.0.1"));
    // Not an address: the scan stops at the hop that forwarded it.
    CHECK(client_key("10.0.0.1", head({"198.51.100.1, unknown"}), trusted) == key("10.0.0.1"));
    CHECK(client_key("10.0.0.1", head({"garbage, 10.0.0.2"}), trusted) == key("10.0.0.2"));
}

TEST_CASE("rate_limit: the client table is bounded and forgets refilled clients first", "[plugins][rate_limit]") {
    BucketRate rate{1, 2};
    ClientTable t(3, rate);
    Client* a = t.find_or_add("a", 0);
    Client* b = t.find_or_add("b", 0);
    t.find_or_add("c", 0);
    t.find_or_add("a", 0);  // least recent first: b, c, a
    take_token(a->bucket, rate, 0);
    take_token(b->bucket, rate, 0);
    // Full: b is the least recent but its bucket is not full; c's is, so c goes.
    Client* d = t.find_or_add("d", 0);
    REQUIRE(d);
    CHECK(t.size() == 3);
    CHECK(t.find("c") == nullptr);
    CHECK(t.find("b") != nullptr);
    // No full bucket among them: the least recent goes anyway (b).
    take_token(d->bucket, rate, 0);
    Client* e = t.find_or_add("e", 0);
    REQUIRE(e);
    CHECK(t.find("b") == nullptr);
    CHECK(t.size() == 3);
    // A client with open streams is never forgotten; with only such clients, no room.
    t.add_stream(*t.find_or_add("a", 0));
    take_token(e->bucket, rate, 0);
    Client* f = t.find_or_add("f", 0);  // least recent without streams: d
    REQUIRE(f);
    CHECK(t.find("d") == nullptr);
    CHECK(t.find("a") != nullptr);
    t.add_stream(*t.find_or_add("e", 0));
    t.add_stream(*t.find_or_add("f", 0));
    CHECK(t.find_or_add("g", 0) == nullptr);
    CHECK(t.size() == 3);
    t.remove_stream(*t.find_or_add("a", 0));
    CHECK(t.find_or_add("g", 0) != nullptr);
    CHECK(t.find("a") == nullptr);
}

TEST_CASE("rate_limit: requests over the rate get 429 with Retry-After and a JSON error", "[plugins][rate_limit]") {
    auto f = filter_for("{requests_per_second: 2, burst: 2}");
    CHECK(f->hooks() == pipeline::Filter::OnRequestHead);
    for (int i = 0; i < 2; ++i) {
        FakeRequest ok = request("192.0.2.1", 1000);
        CHECK(run(*f, ok) == pipeline::HeadVerdict::Pass);
        CHECK(ok.status == 0);
    }
    FakeRequest over = request("192.0.2.1", 1000);
    CHECK(run(*f, over) == pipeline::HeadVerdict::Answered);
    CHECK(over.status == 429);
    REQUIRE(over.header("Retry-After"));
    CHECK(*over.header("Retry-After") == "1");
    CHECK(over.sent == R"({"error":"rate limit exceeded","status":429})");
    // Another client has its own bucket; the first gets a token back after 500 ms.
    FakeRequest other = request("192.0.2.2", 1000);
    CHECK(run(*f, other) == pipeline::HeadVerdict::Pass);
    FakeRequest later = request("192.0.2.1", 1500);
    CHECK(run(*f, later) == pipeline::HeadVerdict::Pass);
    CHECK(f->clients() == 2);
}

TEST_CASE("rate_limit: burst defaults to a second's worth of requests", "[plugins][rate_limit]") {
    auto f = filter_for("{requests_per_second: 3}");
    for (int i = 0; i < 3; ++i) {
        FakeRequest ok = request("192.0.2.1", 0);
        CHECK(run(*f, ok) == pipeline::HeadVerdict::Pass);
    }
    FakeRequest over = request("192.0.2.1", 0);
    CHECK(run(*f, over) == pipeline::HeadVerdict::Answered);
    auto slow = filter_for("{requests_per_second: 0.1}");  // burst 1, Retry-After 10
    FakeRequest first = request("192.0.2.1", 0), second = request("192.0.2.1", 0);
    CHECK(run(*slow, first) == pipeline::HeadVerdict::Pass);
    CHECK(run(*slow, second) == pipeline::HeadVerdict::Answered);
    CHECK(*second.header("Retry-After") == "10");
}

TEST_CASE("rate_limit: max_streams counts each stream once, until its close hook", "[plugins][rate_limit]") {
    auto f = filter_for("{max_streams: 2}");
    CHECK(f->hooks() == (pipeline::Filter::OnRequestHead | pipeline::Filter::OnClose));
    FakeRequest s1 = request("192.0.2.1", 0), s2 = request("192.0.2.1", 0), s3 = request("192.0.2.1", 0);
    CHECK(run(*f, s1) == pipeline::HeadVerdict::Pass);
    CHECK(run(*f, s2) == pipeline::HeadVerdict::Pass);
    CHECK(f->streams_of(key("192.0.2.1")) == 2);
    CHECK(run(*f, s3) == pipeline::HeadVerdict::Answered);
    CHECK(s3.status == 429);
    CHECK(s3.sent == R"({"error":"too many open streams","status":429})");
    CHECK(s3.header("Retry-After"));
    // The refused request's close hook changes nothing; a second close of s1 neither.
    f->on_close(s3);
    CHECK(f->streams_of(key("192.0.2.1")) == 2);
    f->on_close(s1);
    f->on_close(s1);
    CHECK(f->streams_of(key("192.0.2.1")) == 1);
    FakeRequest s4 = request("192.0.2.1", 0);
    CHECK(run(*f, s4) == pipeline::HeadVerdict::Pass);
    CHECK(f->streams_of(key("192.0.2.1")) == 2);
    // A request that a filter before this one stopped never reached it: its close is a no-op.
    FakeRequest never = request("192.0.2.1", 0);
    f->on_close(never);
    CHECK(f->streams_of(key("192.0.2.1")) == 2);
    f->on_close(s2);
    f->on_close(s4);
    CHECK(f->streams_of(key("192.0.2.1")) == 0);
}

TEST_CASE("rate_limit: behind a trusted proxy each forwarded client has its own limit", "[plugins][rate_limit]") {
    auto f = filter_for("{requests_per_second: 1, burst: 1, trusted_proxies: [127.0.0.0/8]}");
    FakeRequest a = request("127.0.0.1", 0, {{"X-Forwarded-For", "198.51.100.1"}});
    FakeRequest b = request("127.0.0.1", 0, {{"X-Forwarded-For", "198.51.100.2"}});
    FakeRequest a2 = request("127.0.0.1", 0, {{"X-Forwarded-For", "198.51.100.1"}});
    CHECK(run(*f, a) == pipeline::HeadVerdict::Pass);
    CHECK(run(*f, b) == pipeline::HeadVerdict::Pass);
    CHECK(run(*f, a2) == pipeline::HeadVerdict::Answered);
    // An untrusted peer's header is ignored: it counts as itself.
    FakeRequest spoof1 = request("192.0.2.7", 0, {{"X-Forwarded-For", "198.51.100.3"}});
    FakeRequest spoof2 = request("192.0.2.7", 0, {{"X-Forwarded-For", "198.51.100.4"}});
    CHECK(run(*f, spoof1) == pipeline::HeadVerdict::Pass);
    CHECK(run(*f, spoof2) == pipeline::HeadVerdict::Answered);
}

TEST_CASE("rate_limit: a table full of clients with streams answers 503", "[plugins][rate_limit]") {
    auto f = filter_for("{max_streams: 1, max_clients: 1}");
    FakeRequest a = request("192.0.2.1", 0), b = request("192.0.2.2", 0);
    CHECK(run(*f, a) == pipeline::HeadVerdict::Pass);
    CHECK(run(*f, b) == pipeline::HeadVerdict::Answered);
    CHECK(b.status == 503);
    CHECK(b.header("Retry-After"));
    f->on_close(a);
    FakeRequest b2 = request("192.0.2.2", 0);
    CHECK(run(*f, b2) == pipeline::HeadVerdict::Pass);
    CHECK(f->clients() == 1);
}

TEST_CASE("rate_limit: bad options are errors at their value", "[plugins][rate_limit]") {
    CHECK(errors_of(config_with(kSse, "{requests_per_second: 0}")) ==
          Lines{"t.yaml:7:43: routes[0].plugins[0].rate_limit.requests_per_second: must be a number "
                "above 0 (requests a second, 0.5 is one every two seconds); got '0'"});
    CHECK(errors_of(config_with(kSse, "{requests_per_second: fast}")).size() == 1);
    CHECK(errors_of(config_with(kSse, "{requests_per_second: 1, burst: 0}")) ==
          Lines{"t.yaml:7:53: routes[0].plugins[0].rate_limit.burst: must be between 1 and "
                "1000000000, got 0"});
    CHECK(errors_of(config_with(kSse, "{burst: 5}")) ==
          Lines{"t.yaml:7:22: routes[0].plugins[0].rate_limit.burst: needs requests_per_second "
                "(the rate that refills it)"});
    CHECK(errors_of(config_with(kSse, "{}")) ==
          Lines{"t.yaml:7:21: routes[0].plugins[0].rate_limit: nothing to limit: give "
                "requests_per_second (and burst) and/or max_streams"});
    CHECK(errors_of(config_with(kSse, "{max_streams: 2, trusted_proxies: [10.0.0.0/40]}")) ==
          Lines{"t.yaml:7:55: routes[0].plugins[0].rate_limit.trusted_proxies: '10.0.0.0/40': the "
                "prefix length is at most 32"});
    CHECK(errors_of(config_with(kSse, "{max_streams: 2, trusted_proxies: [proxy.local]}")).size() == 1);
    CHECK(errors_of(config_with("proxy: {upstream: app}", "{max_streams: 2}")) ==
          Lines{"t.yaml:7:22: routes[0].plugins[0].rate_limit.max_streams: counts streams, so only "
                "sse and poll routes take it"});
    CHECK(errors_of(config_with(kSse, "{max_streams: 2, max_clients: 0}")).size() == 1);
    CHECK(errors_of(config_with(kSse, "{max_streams: 2, rate: 3}")).size() == 1);  // unknown key
    CHECK(errors_of(config_with("poll: {channel: a}", "{max_streams: 2}")).empty());
    CHECK(errors_of(config_with("proxy: {upstream: app}", "{requests_per_second: 5}")).empty());
}
