// RedisLink and the sluice function library against a real redis-server that each test
// starts itself (unix socket in a temp dir, or a free loopback port), on a real uv loop.
// Skipped (with a warning) when redis-server is not installed. Also: backoff_delay.
#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/broker/redis_functions.h"
#include "gateway/broker/redis_link.h"

extern char** environ;

using namespace sluice::broker;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// backoff_delay (pure)

TEST_CASE("backoff_delay grows exponentially up to max, with full jitter", "[broker][backoff]") {
    BackoffPolicy p{100ms, 5000ms};
    // unit_random just below 1 gives the cap of each attempt.
    const double top = 0.999999999;
    CHECK(backoff_delay(p, 0, top) == 99ms);
    CHECK(backoff_delay(p, 1, top) == 199ms);
    CHECK(backoff_delay(p, 2, top) == 399ms);
    CHECK(backoff_delay(p, 5, top) == 3199ms);
    CHECK(backoff_delay(p, 6, top) == 4999ms);   // 6400 capped at 5000
    CHECK(backoff_delay(p, 1000, top) == 4999ms);  // no overflow for huge attempts
    CHECK(backoff_delay(p, 3, 0.5) == 400ms);
}

TEST_CASE("backoff_delay never goes below the 10 ms floor", "[broker][backoff]") {
    BackoffPolicy p{100ms, 5000ms};
    CHECK(backoff_delay(p, 0, 0.0) == kBackoffFloor);
    CHECK(backoff_delay(p, 7, 0.0) == kBackoffFloor);
    CHECK(backoff_delay(BackoffPolicy{0ms, 0ms}, 3, 0.7) == kBackoffFloor);
    CHECK(backoff_delay(BackoffPolicy{1ms, 5ms}, 9, 0.99) == kBackoffFloor);
}

TEST_CASE("backoff_delay stays within [floor, cap] for any random input", "[broker][backoff]") {
    BackoffPolicy p{100ms, 5000ms};
    for (unsigned attempt = 0; attempt < 12; ++attempt) {
        auto cap = std::min<long long>(5000, 100LL << attempt);
        for (double u : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9999, 1.0, 1.5, -0.5}) {
            auto d = backoff_delay(p, attempt, u);
            INFO("attempt " << attempt << " u " << u);
            CHECK(d >= kBackoffFloor);
            CHECK(d.count() <= cap);
        }
    }
    // max below min: max wins
    CHECK(backoff_delay(BackoffPolicy{1000ms, 300ms}, 0, 0.999999) == 299ms);
}

// ---------------------------------------------------------------------------------------
// Test support: a redis-server child process and a uv loop driver.

namespace {

std::optional<std::string> find_redis_server() {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/usr/local/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        fs::path candidate = fs::path(dirs.substr(start, end - start)) / "redis-server";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = end + 1;
    }
    return std::nullopt;
}

int free_tcp_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/sluice-redis-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// One redis-server, owned by PID: SIGTERM then SIGKILL, never by name.
class RedisServer {
  public:
    struct Options {
        bool tcp = false;
        std::vector<std::string> extra;
        std::string bind = "127.0.0.1";
    };

    RedisServer(const std::string& dir, Options opt) : dir_(dir), opt_(std::move(opt)) {}
    ~RedisServer() { stop(); }

    bool start() {
        auto bin = find_redis_server();
        if (!bin) return false;
        socket_ = dir_ + "/redis.sock";
        if (opt_.tcp) port_ = free_tcp_port();
        std::vector<std::string> args = {*bin,
                                         "--port", std::to_string(opt_.tcp ? port_ : 0),
                                         "--bind", opt_.bind,
                                         "--unixsocket", socket_,
                                         "--unixsocketperm", "700",
                                         "--save", "",
                                         "--appendonly", "no",
                                         "--dir", dir_,
                                         "--logfile", dir_ + "/redis.log",
                                         "--daemonize", "no"};
        args.insert(args.end(), opt_.extra.begin(), opt_.extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
            pid_ = -1;
            return false;
        }
        for (int i = 0; i < 250; ++i) {  // up to 5 s
            if (redisContext* c = redisConnectUnix(socket_.c_str())) {
                bool up = !c->err;
                redisFree(c);
                if (up) return true;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    void stop() {
        close_client();
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 250; ++i) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(20ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    const std::string& socket_path() const { return socket_; }
    int port() const { return port_; }

    // A blocking side channel for assertions (admin rights: uses the password option
    // given as "--requirepass" if any).
    std::unique_ptr<redisReply, void (*)(void*)> cmd(const std::vector<std::string>& argv) {
        if (!sync_) {
            sync_ = redisConnectUnix(socket_.c_str());
            for (size_t i = 0; i + 1 < opt_.extra.size(); ++i)
                if (opt_.extra[i] == "--requirepass")
                    freeReplyObject(redisCommand(sync_, "AUTH %s", opt_.extra[i + 1].c_str()));
        }
        std::vector<const char*> p;
        std::vector<size_t> l;
        for (auto& a : argv) {
            p.push_back(a.data());
            l.push_back(a.size());
        }
        void* r = redisCommandArgv(sync_, static_cast<int>(argv.size()), p.data(), l.data());
        return {static_cast<redisReply*>(r), freeReplyObject};
    }

    void close_client() {
        if (sync_) redisFree(sync_);
        sync_ = nullptr;
    }

    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

  private:
    std::string dir_;
    Options opt_;
    std::string socket_;
    int port_ = 0;
    pid_t pid_ = -1;
    redisContext* sync_ = nullptr;
};

// A uv loop with a 5 ms tick so run_until() can poll a condition.
class Loop {
  public:
    Loop() {
        uv_loop_init(&loop_);
        uv_timer_init(&loop_, &tick_);
        uv_timer_start(&tick_, [](uv_timer_t*) {}, 5, 5);
    }
    ~Loop() {
        if (!closed_) finish();
    }
    uv_loop_t* get() { return &loop_; }

    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            uv_run(&loop_, UV_RUN_ONCE);
        }
        return true;
    }
    void run_for(std::chrono::milliseconds d) {
        auto deadline = std::chrono::steady_clock::now() + d;
        run_until([&] { return std::chrono::steady_clock::now() > deadline; }, d + 1s);
    }
    // Closes the tick, drains the loop; returns uv_loop_close's result (0 = nothing leaked).
    int finish() {
        closed_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        return uv_loop_close(&loop_);
    }

  private:
    uv_loop_t loop_{};
    uv_timer_t tick_{};
    bool closed_ = false;
};

// Records what a link reports.
struct Events {
    int ready = 0;
    std::vector<std::string> downs;
    std::vector<RedisValue> pushes;
};

RedisLink::Callbacks record(Events& ev) {
    RedisLink::Callbacks cb;
    cb.on_ready = [&ev] { ++ev.ready; };
    cb.on_down = [&ev](const std::string& why) { ev.downs.push_back(why); };
    cb.on_push = [&ev](const RedisValue& v) { ev.pushes.push_back(v); };
    return cb;
}

RedisEndpoint unix_endpoint(const std::string& path) {
    RedisEndpoint ep;
    ep.unix_path = path;
    return ep;
}

const BackoffPolicy kFast{20ms, 200ms};

// Stops the link, waits for `done`, then requires the loop to close cleanly.
void stop_and_close(Loop& loop, std::unique_ptr<RedisLink>& link) {
    bool done = false;
    link->stop([&] { done = true; });
    REQUIRE(loop.run_until([&] { return done; }));
    CHECK(link->state() == LinkState::Stopped);
    link.reset();
    REQUIRE(loop.finish() == 0);
}

// A real redis-server is part of the suite (tests/run.sh installs it): missing, it fails.
#define START_REDIS(server)                                                      \
    REQUIRE(find_redis_server());                                                        \
    REQUIRE(server.start())

// Sends a command and records its replies (to check "exactly once").
struct Call {
    int calls = 0;
    RedisValue reply;
    RedisLink::ReplyFn fn() {
        return [this](const RedisValue& v) {
            ++calls;
            reply = v;
        };
    }
};

// Runs one command on a link and returns its reply.
RedisValue run(Loop& loop, RedisLink& link, const std::vector<std::string>& argv) {
    Call c;
    link.command(argv, c.fn());
    REQUIRE(loop.run_until([&] { return c.calls > 0; }));
    REQUIRE(c.calls == 1);
    return c.reply;
}

size_t open_fds() {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

bool ipv6_loopback_available() {
    int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RedisLink against redis-server

TEST_CASE("RedisLink connects over a unix socket and runs PING", "[broker][redis]") {
    TempDir dir;
    RedisServer server(dir.path(), {});
    START_REDIS(server);
    Loop loop;
    Events ev;
    auto link = std::make_unique<RedisLink>(loop.get(), unix_endpoint(server.socket_path()),
                                            kFast, "test", record(ev));
    CHECK(link->state() == LinkState::Disconnected);
    link->start();
    REQUIRE(loop.run_until([&] { return link->ready(); }));
    CHECK(ev.ready == 1);
    CHECK(ev.downs.empty());
    CHECK(link->reconnects() == 0);

    Call ping;
    CHECK(link->command({"PING"}, ping.fn()));
    REQUIRE(loop.run_until([&] { return ping.calls > 0; }));
    CHECK(ping.calls == 1);
    CHECK(ping.reply.type == RedisValue::Type::Status);
    CHECK(ping.reply.str == "PONG");

    // Binary-safe arguments and replies.
    std::string value("a\0b\r\n", 5);
    Call set, get;
    link->command({"SET", "bin", value}, set.fn());
    link->command({"GET", "bin"}, get.fn());
    REQUIRE(loop.run_until([&] { return get.calls > 0; }));
    CHECK(set.reply.str == "OK");
    CHECK(get.reply.type == RedisValue::Type::String);
    CHECK(get.reply.str == value);

    // Error replies are replies, not link failures.
    Call bad;
    link->command({"NOSUCHCOMMAND"}, bad.fn());
    REQUIRE(loop.run_until([&] { return bad.calls > 0; }));
    CHECK(bad.reply.is_error());
    CHECK(bad.reply.str != kLinkDownError);
    CHECK(link->ready());

    stop_and_close(loop, link);
    CHECK(ev.downs.empty());  // stop() reports no outage
}

TEST_CASE("a link that is not Ready refuses commands and calls back at once",
          "[broker][redis]") {
    Loop loop;
    Events ev;
    auto link = std::make_unique<RedisLink>(loop.get(), unix_endpoint("/nonexistent/r.sock"),
                                            kFast, "idle", record(ev));
    Call c;
    CHECK_FALSE(link->command({"PING"}, c.fn()));
    CHECK(c.calls == 1);
    CHECK(c.reply.is_error());
    CHECK(c.reply.str == kLinkDownError);
    CHECK_FALSE(link->subscribe_command({"PSUBSCRIBE", "x:*"}));

    link->start();
    REQUIRE(loop.run_until([&] { return ev.downs.size() >= 2; }));
    Call c2;
    CHECK_FALSE(link->command({"PING"}, c2.fn()));
    CHECK(c2.calls == 1);
    CHECK(ev.ready == 0);
    stop_and_close(loop, link);
}

TEST_CASE("pending commands fail exactly once when the connection drops, then the link "
          "reconnects",
          "[broker][redis]") {
    TempDir dir;
    RedisServer server(dir.path(), {});
    START_REDIS(server);
    Loop loop;
    Events ev;
    auto link = std::make_unique<RedisLink>(loop.get(), unix_endpoint(server.socket_path()),
                                            kFast, "drops", record(ev));
    link->start();
    REQUIRE(loop.run_until([&] { return link->ready(); }));

    SECTION("drop_connection") {
        Call a, b;
        link->command({"BLPOP", "never", "0"}, a.fn());  // blocks server-side forever
        link->command({"BLPOP", "never", "0"}, b.fn());
        loop.run_for(50ms);
        link->drop_connection();
        REQUIRE(loop.run_until([&] { return a.calls > 0 && b.calls > 0; }));
        REQUIRE(loop.run_until([&] { return ev.ready == 2; }));
        loop.run_for(100ms);  // nothing arrives twice
        CHECK(a.calls == 1);
        CHECK(b.calls == 1);
        CHECK(a.reply.str == kLinkDownError);
        CHECK(b.reply.str == kLinkDownError);
        CHECK(ev.downs.size() == 1);
        CHECK(link->reconnects() == 1);
    }

    SECTION("CLIENT KILL from another client") {
        Call a;
        link->command({"BLPOP", "never", "0"}, a.fn());
        loop.run_for(50ms);
        auto killed = server.cmd({"CLIENT", "KILL", "TYPE", "normal"});
        REQUIRE(killed);
        CHECK(killed->integer >= 1);
        REQUIRE(loop.run_until([&] { return a.calls > 0 && ev.ready == 2; }));
        loop.run_for(100ms);
        CHECK(a.calls == 1);
        CHECK(a.reply.str == kLinkDownError);
        CHECK(ev.downs.size() == 1);
        CHECK(link->reconnects() == 1);
    }

    // The new connection works.
    Call ping;
    link->command({"PING"}, ping.fn());
    REQUIRE(loop.run_until([&] { return ping.calls > 0; }));
    CHECK(ping.reply.str == "PONG");
    stop_and_close(loop, link);
}

TEST_CASE("stop() fails pending commands before it returns and leaks no handle",
          "[broker][redis]") {
    TempDir dir;
    RedisServer server(dir.path(), {});
    START_REDIS(server);
    Loop loop;
    Events ev;
    auto link = std::make_unique<RedisLink>(loop.get(), unix_endpoint(server.socket_path()),
                                            kFast, "stopper", record(ev));
    link->start();
    REQUIRE(loop.run_until([&] { return link->ready(); }));

    Call a;
    link->command({"BLPOP", "never", "0"}, a.fn());
    loop.run_for(20ms);
    bool done = false;
    link->stop([&] { done = true; });
    CHECK(a.calls == 1);  // already, before stop() returned
    CHECK(a.reply.str == kLinkDownError);
    CHECK(link->state() == LinkState::Stopped);
    REQUIRE(loop.run_until([&] { return done; }));
    CHECK(a.calls == 1);
    Call after;
    CHECK_FALSE(link->command({"PING"}, after.fn()));
    CHECK(after.calls == 1);
    link.reset();
    CHECK(loop.finish() == 0);
    CHECK(ev.downs.empty());
}

TEST_CASE("stop() from inside a reply callback fails the commands queued behind it",
          "[broker][redis]") {
    TempDir dir;
    RedisServer server(dir.path(), {});
    START_REDIS(server);
    Loop loop;
    Events ev;
    auto link = std::make_unique<RedisLink>(loop.get(), unix_endpoint(server.socket_path()),
                                            kFast, "stop-in-cb", record(ev));
    link->start();
    REQUIRE(loop.run_until([&] { return link->ready(); }));
    bool done = false;
    Call first, second;
    RedisLink* raw = link.get();
    link->command({"PING"}, [&, raw](const RedisValue& v) {
        first.fn()(v);
        raw->stop([&] { done = true; });
        CHECK(second.calls == 1);  // failed inside stop(), before it returned
    });
    link->command({"BLPOP", "never", "0"}, second.fn());
    REQUIRE(loop.run_until([&] { return done; }));
    CHECK(first.calls == 1);
    CHECK(first.reply.str == "PONG");
    CHECK(second.calls == 1);
    CHECK(second.reply.str == kLinkDownError);
    link.reset();
    CHECK(loop.finish() == 0);
}

TEST_CASE("a link started before redis is up keeps retrying and connects when it comes up",
          "[broker][redis]") {
    REQUIRE(find_redis_server());
    TempDir dir;
    Loop loop;
    Events ev;
    auto link = std::make_unique<RedisLink>(loop.get(), unix_endpoint(dir.path() + "/redis.sock"),
                                            kFast, "early", record(ev));
    link->start();
    loop.run_for(300ms);
    CHECK(ev.ready == 0);
    CHECK(ev.downs.size() >= 2);  // one per failed attempt
    CHECK((link->state() == LinkState::Backoff || link->state() == LinkState::Connecting));

    RedisServer server(dir.path(), {});
    REQUIRE(server.start());
    REQUIRE(loop.run_until([&] { return link->ready(); }));
    CHECK(ev.ready == 1);
    CHECK(link->reconnects() == 0);  // the first successful connection
    stop_and_close(loop, link);
}

TEST_CASE("the link reconnects after redis restarts", "[broker][redis]") {
    TempDir dir;
    RedisServer server(dir.path(), {});
    START_REDIS(server);
    Loop loop;
    Events ev;
    auto link = std::make_unique<RedisLink>(loop.get(), unix_endpoint(server.socket_path()),
                                            kFast, "restart", record(ev));
    link->start();
    REQUIRE(loop.run_until([&] { return link->ready(); }));
    server.stop();
    REQUIRE(loop.run_until([&] { return ev.downs.size() >= 3; }));  // lost + failed attempts
    CHECK_FALSE(link->ready());
    REQUIRE(server.start());
    REQUIRE(loop.run_until([&] { return link->ready(); }));
    CHECK(ev.ready == 2);
    CHECK(link->reconnects() == 1);
    CHECK(run(loop, *link, {"PING"}).str == "PONG");
    stop_and_close(loop, link);
}

TEST_CASE("a connect that never completes its handshake times out and retries",
          "[broker][redis]") {
    // A listening socket that never accepts: the kernel completes the TCP handshake, but
    // no byte ever comes back, as with a hung or black-holed server.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);

    size_t fds_before = open_fds();
    auto loop = std::make_unique<Loop>();
    Events ev;
    RedisEndpoint ep;
    ep.host = "127.0.0.1";
    ep.port = ntohs(addr.sin_port);
    auto link = std::make_unique<RedisLink>(loop->get(), ep, kFast, "blackhole", record(ev));
    link->set_connect_timeout(150ms);
    link->start();
    REQUIRE(loop->run_until([&] { return ev.downs.size() >= 2; }, 3s));
    CHECK(ev.ready == 0);
    CHECK(ev.downs[0].find("timeout") != std::string::npos);
    stop_and_close(*loop, link);
    loop.reset();
    CHECK(open_fds() == fds_before);  // every timed-out attempt closed its socket
    ::close(fd);
}

TEST_CASE("a refused TCP connect is reported at once, not after the connect timeout",
          "[broker][redis]") {
    size_t fds_before = open_fds();
    auto loop = std::make_unique<Loop>();
    Events ev;
    RedisEndpoint ep;
    ep.host = "127.0.0.1";
    ep.port = free_tcp_port();  // nothing listens there
    auto link = std::make_unique<RedisLink>(loop->get(), ep, kFast, "refused", record(ev));
    link->set_connect_timeout(10s);
    link->start();
    REQUIRE(loop->run_until([&] { return ev.downs.size() >= 5; }, 3s));
    CHECK(ev.downs[0].find("timeout") == std::string::npos);
    CHECK(ev.ready == 0);
    stop_and_close(*loop, link);
    loop.reset();
    CHECK(open_fds() == fds_before);  // every refused attempt closed its socket
}

TEST_CASE("AUTH and SELECT run before on_ready; a wrong password never gets Ready",
          "[broker][redis]") {
    TempDir dir;
    RedisServer server(dir.path(), {true, {"--requirepass", "s3cret"}});
    START_REDIS(server);
    Loop loop;

    SECTION("password and db over TCP, host name resolved off the loop") {
        Events ev;
        auto ep = parse_redis_url("redis://:s3cret@localhost:" + std::to_string(server.port()) +
                                      "/3",
                                  nullptr);
        REQUIRE(ep);
        auto link = std::make_unique<RedisLink>(loop.get(), *ep, kFast, "auth", record(ev));
        link->start();
        REQUIRE(loop.run_until([&] { return link->ready(); }));
        Call set;
        link->command({"SET", "in-db-3", "yes"}, set.fn());
        REQUIRE(loop.run_until([&] { return set.calls > 0; }));
        CHECK(set.reply.str == "OK");
        auto sel = server.cmd({"SELECT", "3"});
        auto got = server.cmd({"GET", "in-db-3"});
        REQUIRE(got);
        CHECK(std::string(got->str, got->len) == "yes");
        auto names = server.cmd({"CLIENT", "LIST"});
        REQUIRE(names);
        CHECK(std::string(names->str, names->len).find("name=sluice:auth") != std::string::npos);
        stop_and_close(loop, link);
    }

    SECTION("ACL user name and password") {
        auto acl = server.cmd({"ACL", "SETUSER", "alice", "on", ">pw", "~*", "&*", "+@all"});
        REQUIRE(acl);
        REQUIRE(acl->type == REDIS_REPLY_STATUS);
        Events ev;
        RedisEndpoint ep = unix_endpoint(server.socket_path());
        ep.username = "alice";
        ep.password = "pw";
        auto link = std::make_unique<RedisLink>(loop.get(), ep, kFast, "acl", record(ev));
        link->start();
        REQUIRE(loop.run_until([&] { return link->ready(); }));
        Call who;
        link->command({"ACL", "WHOAMI"}, who.fn());
        REQUIRE(loop.run_until([&] { return who.calls > 0; }));
        CHECK(who.reply.str == "alice");
        stop_and_close(loop, link);
    }

    SECTION("wrong password") {
        Events ev;
        RedisEndpoint ep = unix_endpoint(server.socket_path());
        ep.password = "wrong";
        auto link = std::make_unique<RedisLink>(loop.get(), ep, kFast, "badauth", record(ev));
        link->start();
        REQUIRE(loop.run_until([&] { return ev.downs.size() >= 2; }));
        CHECK(ev.ready == 0);
        CHECK(ev.downs[0].find("AUTH failed") != std::string::npos);
        stop_and_close(loop, link);
    }
}

TEST_CASE("a redis:// URL with a bracketed IPv6 address connects", "[broker][redis]") {
    if (!ipv6_loopback_available()) {
        WARN("no IPv6 loopback: skipping");
        SUCCEED("skipped");
        return;
    }
    TempDir dir;
    RedisServer::Options opt;
    opt.tcp = true;
    opt.bind = "::1";
    RedisServer server(dir.path(), opt);
    START_REDIS(server);
    auto ep = parse_redis_url("redis://[::1]:" + std::to_string(server.port()) + "/2", nullptr);
    REQUIRE(ep);
    Loop loop;
    Events ev;
    auto link = std::make_unique<RedisLink>(loop.get(), *ep, kFast, "v6", record(ev));
    link->start();
    REQUIRE(loop.run_until([&] { return link->ready(); }));
    CHECK(run(loop, *link, {"CLIENT", "INFO"}).str.find("db=2") != std::string::npos);
    stop_and_close(loop, link);
}

// ---------------------------------------------------------------------------------------
// The sluice function library against redis-server

TEST_CASE("sluice_publish sequences, stores, caps, expires and publishes envelopes",
          "[broker][redis][redis_functions]") {
    TempDir dir;
    RedisServer server(dir.path(), {});
    START_REDIS(server);
    Loop loop;
    Events cmd_ev, sub_ev;
    auto link = std::make_unique<RedisLink>(loop.get(), unix_endpoint(server.socket_path()),
                                            kFast, "cmd", record(cmd_ev));
    // The subscriber re-issues its PSUBSCRIBE on every (re)connect, as the broker will.
    RedisLink::Callbacks sub_cb = record(sub_ev);
    RedisLink* sub_raw = nullptr;
    sub_cb.on_ready = [&] {
        ++sub_ev.ready;
        CHECK(sub_raw->subscribe_command({"PSUBSCRIBE", "news:*", "t:seq:news:*"}));
    };
    auto sub = std::make_unique<RedisLink>(loop.get(), unix_endpoint(server.socket_path()),
                                           kFast, "sub", sub_cb);
    sub_raw = sub.get();
    link->start();
    sub->start();
    REQUIRE(loop.run_until([&] { return link->ready() && sub_ev.pushes.size() == 2; }));
    // The PSUBSCRIBE acknowledgements (one per pattern) come through on_push.
    REQUIRE(sub_ev.pushes[0].elements.size() == 3);
    CHECK(sub_ev.pushes[0].elements[0].str == "psubscribe");
    CHECK(sub_ev.pushes[0].elements[1].str == "news:*");
    CHECK(sub_ev.pushes[1].elements[1].str == "t:seq:news:*");
    sub_ev.pushes.erase(sub_ev.pushes.begin());  // the rest counts from one ack, as before

    const std::string prefix = "t:";
    RedisValue loaded =
        run(loop, *link, function_load_argv(sluice_function_library(prefix, 3, 60s, 120s)));
    INFO(loaded.str);
    REQUIRE(loaded.type == RedisValue::Type::String);
    CHECK(loaded.str == "sluice");
    RedisValue listed = run(loop, *link, function_list_argv());
    REQUIRE(listed.type == RedisValue::Type::Array);
    CHECK(listed.elements.size() == 1);

    // Positions 1, 2, 3 per channel; another channel counts on its own.
    for (long long want = 1; want <= 3; ++want) {
        RedisValue pos = run(loop, *link, fcall_publish_argv("news:1", "p" + std::to_string(want),
                                                             want == 2 ? "chunk" : ""));
        INFO(pos.str);
        REQUIRE(pos.type == RedisValue::Type::Integer);
        CHECK(pos.integer == want);
    }
    CHECK(run(loop, *link, fcall_publish_argv("other", "x", "")).integer == 1);

    auto entries = parse_xrange_reply(run(loop, *link, xrange_argv(prefix, "news:1", 0, 0, 0)));
    REQUIRE(entries.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        CHECK(entries[i].position == i + 1);
        CHECK(entries[i].payload == "p" + std::to_string(i + 1));
    }
    CHECK(entries[0].event.empty());
    CHECK(entries[1].event == "chunk");

    // The counter lives for positions_ttl, the log for ttl.
    long long seq_ttl = run(loop, *link, {"PTTL", seq_key(prefix, "news:1")}).integer;
    long long log_ttl = run(loop, *link, {"PTTL", log_key(prefix, "news:1")}).integer;
    CHECK(seq_ttl > 60000);
    CHECK(seq_ttl <= 120000);
    CHECK(log_ttl > 0);
    CHECK(log_ttl <= 60000);

    // The subscriber saw every publish, in order, as envelopes on the sequenced
    // namespace only (never on the plain channel).
    REQUIRE(loop.run_until([&] { return sub_ev.pushes.size() == 4; }));
    for (size_t i = 1; i <= 3; ++i) {
        const RedisValue& m = sub_ev.pushes[i];
        REQUIRE(m.elements.size() == 4);
        CHECK(m.elements[0].str == "pmessage");
        CHECK(m.elements[1].str == "t:seq:news:*");
        CHECK(m.elements[2].str == "t:seq:news:1");
        REQUIRE(looks_like_envelope(m.elements[3].str));
        auto env = parse_envelope(m.elements[3].str);
        REQUIRE(env);
        CHECK(env->position == i);
        CHECK(env->payload == "p" + std::to_string(i));
        CHECK(env->event == (i == 2 ? "chunk" : ""));
    }
    // "other" does not match news:*; a plain PUBLISH arrives as it is.
    REQUIRE(loop.run_until([&] { return sub_ev.pushes.size() == 4; }));
    run(loop, *link, {"PUBLISH", "news:1", R"({"type":"plain"})"});
    REQUIRE(loop.run_until([&] { return sub_ev.pushes.size() == 5; }));
    CHECK(sub_ev.pushes[4].elements[1].str == "news:*");
    CHECK(sub_ev.pushes[4].elements[3].str == R"({"type":"plain"})");
    CHECK_FALSE(looks_like_envelope(sub_ev.pushes[4].elements[3].str));

    // MAXLEN = 3: after 5 publishes the log holds 3..5; XRANGE by position works.
    std::string binary("b\0i\nn", 5);
    run(loop, *link, fcall_publish_argv("news:1", "p4", ""));
    CHECK(run(loop, *link, fcall_publish_argv("news:1", binary, "bin")).integer == 5);
    entries = parse_xrange_reply(run(loop, *link, xrange_argv(prefix, "news:1", 0, 0, 0)));
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].position == 3);
    CHECK(entries[2].position == 5);
    CHECK(entries[2].payload == binary);
    CHECK(entries[2].event == "bin");
    entries = parse_xrange_reply(run(loop, *link, xrange_argv(prefix, "news:1", 4, 4, 0)));
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].position == 4);
    entries = parse_xrange_reply(run(loop, *link, xrange_argv(prefix, "news:1", 1, 0, 2)));
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].position == 3);

    // Both keys expire, refreshed per publish: the log after the ttl, the counter after
    // positions_ttl (positions are never reused while it lives).
    CHECK(run(loop, *link, {"PTTL", log_key(prefix, "news:1")}).integer > 0);
    CHECK(run(loop, *link, {"PTTL", log_key(prefix, "news:1")}).integer <= 60000);
    CHECK(run(loop, *link, {"PTTL", seq_key(prefix, "news:1")}).integer > 60000);
    CHECK(run(loop, *link, {"PTTL", seq_key(prefix, "news:1")}).integer <= 120000);

    // The envelope of a binary payload survives PUBLISH.
    REQUIRE(loop.run_until([&] { return sub_ev.pushes.size() == 7; }));
    auto env = parse_envelope(sub_ev.pushes[6].elements[3].str);
    REQUIRE(env);
    CHECK(env->position == 5);
    CHECK(env->payload == binary);

    // A subscribed link refuses ordinary commands.
    Call refused;
    CHECK_FALSE(sub->command({"PING"}, refused.fn()));
    CHECK(refused.calls == 1);
    CHECK(refused.reply.is_error());

    // Event names that would break SSE framing are refused by the function.
    RedisValue bad = run(loop, *link, fcall_publish_argv("news:1", "x", "a\nb"));
    CHECK(bad.is_error());
    CHECK(run(loop, *link, {"GET", seq_key(prefix, "news:1")}).str == "5");

    // A counter that was lost restarts at 1 and takes the stale log with it.
    run(loop, *link, {"DEL", seq_key(prefix, "news:1")});
    CHECK(run(loop, *link, fcall_publish_argv("news:1", "fresh", "")).integer == 1);
    entries = parse_xrange_reply(run(loop, *link, xrange_argv(prefix, "news:1", 0, 0, 0)));
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].payload == "fresh");
    REQUIRE(loop.run_until([&] { return sub_ev.pushes.size() == 8; }));

    // The subscriber comes back after a drop and resubscribes from on_ready.
    sub->drop_connection();
    REQUIRE(loop.run_until([&] { return sub_ev.ready == 2 && sub_ev.pushes.size() == 10; }));
    CHECK(sub_ev.pushes[8].elements[0].str == "psubscribe");
    CHECK(sub_ev.pushes[9].elements[0].str == "psubscribe");  // both patterns again
    CHECK(run(loop, *link, fcall_publish_argv("news:1", "again", "")).integer == 2);
    REQUIRE(loop.run_until([&] { return sub_ev.pushes.size() == 11; }));
    env = parse_envelope(sub_ev.pushes[10].elements[3].str);
    REQUIRE(env);
    CHECK(env->position == 2);
    CHECK(env->payload == "again");

    bool done_sub = false;
    sub->stop([&] { done_sub = true; });
    REQUIRE(loop.run_until([&] { return done_sub; }));
    sub.reset();
    stop_and_close(loop, link);
}

TEST_CASE("a library loaded with ttl 0 leaves the keys without expiry",
          "[broker][redis][redis_functions]") {
    TempDir dir;
    RedisServer server(dir.path(), {});
    START_REDIS(server);
    Loop loop;
    Events ev;
    auto link = std::make_unique<RedisLink>(loop.get(), unix_endpoint(server.socket_path()),
                                            kFast, "cmd", record(ev));
    link->start();
    REQUIRE(loop.run_until([&] { return link->ready(); }));
    CHECK(run(loop, *link, function_load_argv(sluice_function_library("z:", 10, 0ms, 0ms))).str ==
          "sluice");
    CHECK(run(loop, *link, fcall_publish_argv("c", "x", "")).integer == 1);
    CHECK(run(loop, *link, {"PTTL", seq_key("z:", "c")}).integer == -1);
    CHECK(run(loop, *link, {"PTTL", log_key("z:", "c")}).integer == -1);
    stop_and_close(loop, link);
}
