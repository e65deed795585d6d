// Pool and ProxyExchange on a real libuv loop, against a tiny upstream served from the same
// loop: round-robin and health bookkeeping, a whole exchange whose connection goes back to
// the pool and is reused, a refused server answered with 502, reload-time pool reuse, and
// every handle closed at the end (uv_loop_close == 0).
#include <catch2/catch.hpp>

#include <uv.h>

#include <cstring>
#include <string>

#include "gateway/proxy/exchange.h"
#include "gateway/proxy/loop_proxy.h"
#include "tests/unit/support/fake_request.h"

using namespace sluice;
using namespace sluice::proxy;
using sluice::testing::FakeRequest;

namespace {

// The test's loop with a dispatcher (timer wheel, end-of-turn flushes, deferred deletes),
// as a worker has.
struct TestLoop {
    uv_loop_t loop;
    std::unique_ptr<loop::Dispatcher> dispatcher;
    LoopContextPtr ctx;

    TestLoop() {
        uv_loop_init(&loop);
        dispatcher = std::make_unique<loop::Dispatcher>(&loop, 10);
        ctx = std::make_shared<LoopContext>();
        ctx->dispatcher = dispatcher.get();
    }

    template <class F> void run_until(F done) {
        for (int i = 0; i < 100000 && !done(); ++i) uv_run(&loop, UV_RUN_ONCE);
        REQUIRE(done());
    }

    // Closes the dispatcher and runs until every other handle is gone too.
    void finish() {
        dispatcher->close();
        for (int i = 0; i < 1000 && uv_loop_alive(&loop); ++i) uv_run(&loop, UV_RUN_NOWAIT);
        dispatcher->run_remaining();
        CHECK(uv_loop_close(&loop) == 0);
    }
};

// Answers every request head with a fixed response and keeps the connection open.
struct TinyUpstream {
    uv_tcp_t listener;
    int port = 0;
    int accepted = 0;
    std::vector<uv_tcp_t*> clients;
    std::string seen;
    static constexpr const char* kAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

    explicit TinyUpstream(uv_loop_t* loop) {
        uv_tcp_init(loop, &listener);
        listener.data = this;
        sockaddr_in addr{};
        uv_ip4_addr("127.0.0.1", 0, &addr);
        uv_tcp_bind(&listener, reinterpret_cast<sockaddr*>(&addr), 0);
        uv_listen(reinterpret_cast<uv_stream_t*>(&listener), 16, &on_connection);
        sockaddr_storage bound{};
        int len = sizeof bound;
        uv_tcp_getsockname(&listener, reinterpret_cast<sockaddr*>(&bound), &len);
        port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }

    std::string address() const { return "127.0.0.1:" + std::to_string(port); }

    static void on_connection(uv_stream_t* l, int) {
        auto* self = static_cast<TinyUpstream*>(l->data);
        auto* c = new uv_tcp_t;
        uv_tcp_init(l->loop, c);
        c->data = self;
        uv_accept(l, reinterpret_cast<uv_stream_t*>(c));
        self->clients.push_back(c);
        ++self->accepted;
        uv_read_start(
            reinterpret_cast<uv_stream_t*>(c),
            [](uv_handle_t*, size_t, uv_buf_t* b) {
                static char buf[65536];
                *b = uv_buf_init(buf, sizeof buf);
            },
            &on_read);
    }

    static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
        auto* self = static_cast<TinyUpstream*>(s->data);
        if (n <= 0) return;
        self->seen.append(b->base, static_cast<size_t>(n));
        if (self->seen.find("\r\n\r\n") == std::string::npos) return;
        self->seen.clear();
        auto* req = new uv_write_t;
        uv_buf_t out =
            uv_buf_init(const_cast<char*>(kAnswer), static_cast<unsigned>(std::strlen(kAnswer)));
        uv_write(req, s, &out, 1, [](uv_write_t* r, int) { delete r; });
    }

    void close() {
        uv_close(reinterpret_cast<uv_handle_t*>(&listener), nullptr);
        for (auto* c : clients)
            uv_close(reinterpret_cast<uv_handle_t*>(c),
                     [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
        clients.clear();
    }
};

proxy::UpstreamOptions upstream_of(std::vector<std::string> servers) {
    proxy::UpstreamOptions up;
    up.servers = std::move(servers);
    return up;
}

http::RequestHead get(std::string target) {
    http::RequestHead r;
    r.method = "GET";
    r.target = target;
    r.path = target;
    r.headers = {{"Host", "client.example"}};
    return r;
}

ExchangeSettings settings_for(PoolPtr pool) {
    ExchangeSettings s;
    s.pool = std::move(pool);
    s.client_address = "127.0.0.1";
    s.request_id = "test-id";
    return s;
}

}  // namespace

TEST_CASE("round robin skips servers that failed or failed their check", "[proxy][pool]") {
    TestLoop t;
    proxy::UpstreamOptions cfg = upstream_of({"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"});
    cfg.max_fails = 2;
    auto pool = std::make_shared<Pool>(t.ctx, "app", cfg);
    std::vector<bool> none(3, false);
    CHECK(pool->pick(none) == 0);
    CHECK(pool->pick(none) == 1);
    CHECK(pool->pick(none) == 2);
    CHECK(pool->pick(none) == 0);

    pool->report_failure(1);
    CHECK(pool->server_up(1));  // one failure of the two allowed
    pool->report_success(1);
    pool->report_failure(1);
    CHECK(pool->server_up(1));  // success reset the count
    pool->report_failure(1);
    CHECK_FALSE(pool->server_up(1));
    pool->set_checked(2, false);
    CHECK(pool->pick(none) == 0);
    CHECK(pool->pick(none) == 0);
    CHECK(pool->pick({true, false, false}) == -1);
    pool->set_checked(1, true);  // a passing active check overrides passive marking
    pool->set_checked(2, true);
    CHECK(pool->server_up(1));
    CHECK(pool->pick({true, false, false}) == 1);
    pool->shutdown();
    t.finish();
}

TEST_CASE("an exchange answers, and its connection is pooled and reused", "[proxy][exchange]") {
    TestLoop t;
    TinyUpstream up(&t.loop);
    auto pool = std::make_shared<Pool>(t.ctx, "app", upstream_of({up.address()}));
    for (int round = 0; round < 3; ++round) {
        FakeRequest down;
        ProxyExchange ex(down, get("/x?" + std::to_string(round)), pipeline::RequestBody::None,
                         true, settings_for(pool));
        ex.start();
        t.run_until([&] { return down.ended; });
        CHECK(down.status == 200);
        CHECK(down.body_end == pipeline::BodyEnd::Length);
        REQUIRE(down.header("X-Request-Id"));
        CHECK(*down.header("X-Request-Id") == "test-id");
        CHECK(down.sent == "hello");
        CHECK_FALSE(down.closed);
        CHECK(down.pauses == 0);
    }
    CHECK(up.accepted == 1);  // three requests, one upstream connection
    CHECK(pool->open_connections() == 1);
    pool->shutdown();  // closes the idle connection
    up.close();
    t.run_until([&] { return pool->open_connections() == 0; });
    pool.reset();
    t.finish();
}

namespace {

// A loopback port nothing listens on: bound, then closed.
int refused_port(TestLoop& t) {
    uv_tcp_t probe;
    uv_tcp_init(&t.loop, &probe);
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&probe, reinterpret_cast<sockaddr*>(&addr), 0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&probe, reinterpret_cast<sockaddr*>(&bound), &len);
    int port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    uv_close(reinterpret_cast<uv_handle_t*>(&probe), nullptr);
    uv_run(&t.loop, UV_RUN_NOWAIT);  // the close callback: the probe handle is done
    return port;
}

}  // namespace

TEST_CASE("a refused server is answered with 502", "[proxy][exchange]") {
    TestLoop t;
    std::vector<std::string> servers{"127.0.0.1:" + std::to_string(refused_port(t))};
    bool lone = GENERATE(true, false);
    if (!lone) servers.push_back("127.0.0.1:" + std::to_string(refused_port(t)));
    auto pool = std::make_shared<Pool>(t.ctx, "app", upstream_of(servers));
    FakeRequest down;
    {
        ProxyExchange ex(down, get("/x"), pipeline::RequestBody::None, true, settings_for(pool));
        ex.start();
        t.run_until([&] { return down.ended; });
    }
    CHECK(down.status == 502);
    if (lone) {
        CHECK(pool->server_up(0));  // a lone server is never marked down (nginx's rule)
    } else {
        CHECK_FALSE(pool->server_up(0));  // max_fails 1: both tried (a GET), both marked down
        CHECK_FALSE(pool->server_up(1));
    }
    pool->shutdown();
    t.run_until([&] { return pool->open_connections() == 0; });
    pool.reset();
    t.finish();
}

TEST_CASE("a reload keeps unchanged pools and replaces changed ones", "[proxy][pool]") {
    TestLoop t;
    {
        LoopProxy lp(t.ctx);
        std::map<std::string, proxy::UpstreamOptions> v1{{"a", upstream_of({"127.0.0.1:1"})},
                                                   {"b", upstream_of({"127.0.0.1:2"})}};
        lp.sync(v1, 1);
        PoolPtr a = lp.pool("a"), b = lp.pool("b");
        REQUIRE(a);
        REQUIRE(b);
        auto v2 = v1;
        v2["b"].read_timeout = std::chrono::seconds(1);
        v2.erase("a");
        v2["c"] = upstream_of({"127.0.0.1:3"});
        lp.sync(v2, 1);  // same generation: ignored
        CHECK(lp.pool("a") == a);
        lp.sync(v2, 2);
        CHECK_FALSE(lp.pool("a"));
        CHECK(lp.pool("b") != b);
        CHECK(lp.pool("c"));
        lp.sync(v1, 1);  // an older config never undoes a newer one
        CHECK(lp.pool("c"));
        CHECK(same_upstream(v2["c"], upstream_of({"127.0.0.1:3"})));
        CHECK_FALSE(same_upstream(v1["b"], v2["b"]));
    }
    t.finish();
}
