#include "gateway/broker/redis_link.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

#include "gateway/core/ascii.h"
#include "gateway/core/log.h"

namespace sluice::broker {

using std::chrono::milliseconds;

namespace {

// While an outage lasts, a failed attempt is logged at most this often (the rest at debug).
constexpr auto kDownLogInterval = std::chrono::seconds(10);

// Runs a callback that belongs to the link's owner. An exception must not unwind into
// hiredis or libuv (C code) nor leave the link half-updated, so it is logged and dropped.
template <class F, class... Args>
void call_user(const std::string& link, const char* what, const F& fn, Args&&... args) noexcept {
    if (!fn) return;
    try {
        fn(std::forward<Args>(args)...);
    } catch (const std::exception& e) {
        log::error("redis link callback threw",
                   {{"link", link}, {"callback", what}, {"error", e.what()}});
    } catch (...) {
        log::error("redis link callback threw", {{"link", link}, {"callback", what}});
    }
}

RedisValue to_value(const redisReply* r) {
    RedisValue v;
    switch (r->type) {
    case REDIS_REPLY_STRING: v.type = RedisValue::Type::String; break;
    case REDIS_REPLY_STATUS: v.type = RedisValue::Type::Status; break;
    case REDIS_REPLY_ERROR: v.type = RedisValue::Type::Error; break;
    case REDIS_REPLY_INTEGER: v.type = RedisValue::Type::Integer; break;
    case REDIS_REPLY_ARRAY: v.type = RedisValue::Type::Array; break;
    default: v.type = RedisValue::Type::Nil; break;
    }
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
        r->type == REDIS_REPLY_ERROR)
        v.str.assign(r->str, r->len);
    if (r->type == REDIS_REPLY_INTEGER) v.integer = r->integer;
    if (r->type == REDIS_REPLY_ARRAY) {
        v.elements.reserve(r->elements);
        for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(to_value(r->element[i]));
    }
    return v;
}

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return uv_inet_pton(AF_INET, host.c_str(), buf) == 0 ||
           uv_inet_pton(AF_INET6, host.c_str(), buf) == 0;
}

// CLIENT SETNAME takes no spaces; keep it readable in CLIENT LIST.
std::string client_name(const std::string& name) {
    std::string out = "sluice:";
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        out += ok ? c : '_';
    }
    return out;
}

// ---- our own libuv adapter for hiredis ----
// Written instead of using <hiredis/adapters/libuv.h> because 0.14's adapter ignores
// poll errors: a refused TCP connect then never reaches hiredis and the attempt hangs
// until the connect timeout. Here an error hands hiredis the I/O it was waiting for, so
// it reads the socket error itself. Cleanup is idempotent (hiredis may call it twice).
struct PollAdapter {
    redisAsyncContext* ac = nullptr;  // null once hiredis has let go of the context
    uv_poll_t poll{};
    int events = 0;
    bool closing = false;
};

// Hands a readable socket to hiredis, or to a push-mode link's own reader.
void link_readable(redisAsyncContext* ac) noexcept;

void uv_redis_poll_cb(uv_poll_t* handle, int status, int events) noexcept {
    auto* a = static_cast<PollAdapter*>(handle->data);
    int ev = status < 0 ? a->events : events;
    if (a->ac && (ev & UV_READABLE)) link_readable(a->ac);
    if (a->ac && (ev & UV_WRITABLE)) redisAsyncHandleWrite(a->ac);
    // libuv stops a poll handle that reported an error; resume if hiredis still waits.
    if (status < 0 && a->ac && !a->closing && a->events)
        uv_poll_start(&a->poll, a->events, uv_redis_poll_cb);
}

void adapter_update(PollAdapter* a) {
    if (a->closing) return;
    if (a->events)
        uv_poll_start(&a->poll, a->events, uv_redis_poll_cb);
    else
        uv_poll_stop(&a->poll);
}

void hiredis_add_read_cb(void* privdata) noexcept {
    auto* a = static_cast<PollAdapter*>(privdata);
    a->events |= UV_READABLE;
    adapter_update(a);
}

void hiredis_del_read_cb(void* privdata) noexcept {
    auto* a = static_cast<PollAdapter*>(privdata);
    a->events &= ~UV_READABLE;
    adapter_update(a);
}

void hiredis_add_write_cb(void* privdata) noexcept {
    auto* a = static_cast<PollAdapter*>(privdata);
    a->events |= UV_WRITABLE;
    adapter_update(a);
}

void hiredis_del_write_cb(void* privdata) noexcept {
    auto* a = static_cast<PollAdapter*>(privdata);
    a->events &= ~UV_WRITABLE;
    adapter_update(a);
}

void uv_poll_close_cb(uv_handle_t* handle) noexcept {
    delete static_cast<PollAdapter*>(handle->data);
}

void hiredis_cleanup_cb(void* privdata) noexcept {
    auto* a = static_cast<PollAdapter*>(privdata);
    a->ac = nullptr;
    if (a->closing) return;
    a->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&a->poll), uv_poll_close_cb);
}

bool attach_adapter(redisAsyncContext* ac, uv_loop_t* loop) {
    auto* a = new PollAdapter;
    if (uv_poll_init(loop, &a->poll, ac->c.fd) != 0) {
        delete a;
        return false;
    }
    a->ac = ac;
    a->poll.data = a;
    ac->ev.data = a;
    ac->ev.addRead = hiredis_add_read_cb;
    ac->ev.delRead = hiredis_del_read_cb;
    ac->ev.addWrite = hiredis_add_write_cb;
    ac->ev.delWrite = hiredis_del_write_cb;
    ac->ev.cleanup = hiredis_cleanup_cb;
    return true;
}

}  // namespace

// ---- trampolines: recover the link, forward, never let an exception escape ----
// ac->data points at the link: a link outlives every context it opened, because each
// context is freed (by hiredis or by close_context()) before stop() completes.
struct LinkCallbacks {
    static void hiredis_connect_cb(const redisAsyncContext* ac, int status) noexcept {
        auto* link = static_cast<RedisLink*>(ac->data);
        if (link) guard(*link, [&] { link->on_hiredis_connect(ac, status); });
    }
    static void hiredis_disconnect_cb(const redisAsyncContext* ac, int status) noexcept {
        auto* link = static_cast<RedisLink*>(ac->data);
        if (link) guard(*link, [&] { link->on_hiredis_disconnect(ac, status); });
    }
    static void hiredis_reply_cb(redisAsyncContext* ac, void* reply, void* privdata) noexcept {
        auto* link = static_cast<RedisLink*>(ac->data);
        uint64_t id = reinterpret_cast<uintptr_t>(privdata);
        if (link) guard(*link, [&] { link->on_hiredis_reply(ac, reply, id); });
    }
    static void uv_timer_cb(uv_timer_t* timer) noexcept {
        auto* link = static_cast<RedisLink*>(timer->data);
        if (link) guard(*link, [&] { link->on_timer(); });
    }
    static void uv_timer_close_cb(uv_handle_t* handle) noexcept {
        auto* link = static_cast<RedisLink*>(handle->data);
        delete reinterpret_cast<uv_timer_t*>(handle);
        if (link) guard(*link, [&] { link->on_timer_closed(); });
    }
    static void uv_getaddrinfo_cb(uv_getaddrinfo_t* req, int status, addrinfo* res) noexcept;

    static void readable(redisAsyncContext* ac) noexcept {
        auto* link = static_cast<RedisLink*>(ac->data);
        if (link && link->push_mode_)
            guard(*link, [&] { link->read_pushes(); });
        else
            redisAsyncHandleRead(ac);
    }
    template <class F> static void guard(RedisLink& link, F&& f) noexcept {
        try {
            f();
        } catch (const std::exception& e) {
            log::error("redis link internal error", {{"link", link.name_}, {"error", e.what()}});
        } catch (...) {
            log::error("redis link internal error", {{"link", link.name_}});
        }
    }
};

struct RedisLink::ResolveReq {
    uv_getaddrinfo_t req{};
    RedisLink* link = nullptr;  // cleared if the link dies first (contract violation)
    uint64_t attempt = 0;
};

void LinkCallbacks::uv_getaddrinfo_cb(uv_getaddrinfo_t* req, int status, addrinfo* res) noexcept {
    auto* r = static_cast<RedisLink::ResolveReq*>(req->data);
    if (r->link) {
        RedisLink* link = r->link;
        guard(*link, [&] { link->on_resolved(r, status, res); });
    }
    uv_freeaddrinfo(res);
    delete r;
}

// ---- free functions ----

const char* link_state_name(LinkState state) {
    switch (state) {
    case LinkState::Disconnected: return "disconnected";
    case LinkState::Connecting: return "connecting";
    case LinkState::Authenticating: return "authenticating";
    case LinkState::Ready: return "ready";
    case LinkState::Backoff: return "backoff";
    case LinkState::Stopped: return "stopped";
    }
    return "?";
}

milliseconds backoff_delay(const BackoffPolicy& policy, unsigned attempt, double unit_random) {
    double lo = static_cast<double>(std::max<long long>(0, policy.min.count()));
    double hi = static_cast<double>(std::max<long long>(0, policy.max.count()));
    double cap = std::min(hi, lo * std::ldexp(1.0, static_cast<int>(std::min(attempt, 62u))));
    double u = unit_random;
    if (!(u >= 0.0)) u = 0.0;  // also catches NaN
    if (u >= 1.0) u = std::nextafter(1.0, 0.0);
    return std::max(kBackoffFloor, milliseconds(static_cast<long long>(u * cap)));
}

RedisValue RedisValue::error(std::string message) {
    RedisValue v;
    v.type = Type::Error;
    v.str = std::move(message);
    return v;
}

namespace {
void link_readable(redisAsyncContext* ac) noexcept { LinkCallbacks::readable(ac); }
}  // namespace

// ---- RedisLink ----

RedisLink::RedisLink(uv_loop_t* loop, RedisEndpoint ep, BackoffPolicy backoff, std::string name,
                     Callbacks cb)
    : loop_(loop), ep_(std::move(ep)), backoff_(backoff), name_(std::move(name)),
      cb_(std::move(cb)), rng_(std::random_device{}()) {}

RedisLink::~RedisLink() {
    bool clean = state_ == LinkState::Disconnected ||
                 (state_ == LinkState::Stopped && !timer_ && lookups_.empty());
    if (clean) return;
    log::error("redis link destroyed before stop() completed", {{"link", name_}});
    if (ctx_) {
        redisAsyncContext* ac = ctx_;
        ctx_ = nullptr;
        ac->data = nullptr;  // its callbacks must not reach this dying object
        redisAsyncFree(ac);
    }
    if (timer_) {
        timer_->data = nullptr;
        if (!timer_closing_)
            uv_close(reinterpret_cast<uv_handle_t*>(timer_), LinkCallbacks::uv_timer_close_cb);
    }
    for (ResolveReq* r : lookups_) {
        r->link = nullptr;
        uv_cancel(reinterpret_cast<uv_req_t*>(&r->req));
    }
}

void RedisLink::start() {
    if (state_ != LinkState::Disconnected) return;
    timer_ = new uv_timer_t;
    uv_timer_init(loop_, timer_);
    timer_->data = this;
    log::info("redis link starting", {{"link", name_}, {"endpoint", endpoint_display(ep_)}});
    begin_attempt();
}

void RedisLink::stop(std::function<void()> done) {
    if (done) stop_done_.push_back(std::move(done));
    if (state_ == LinkState::Stopped) {
        maybe_finish_stop();
        return;
    }
    bool started = state_ != LinkState::Disconnected;
    state_ = LinkState::Stopped;
    close_context();
    fail_pending();
    for (ResolveReq* r : lookups_) uv_cancel(reinterpret_cast<uv_req_t*>(&r->req));
    if (timer_ && !timer_closing_) {
        uv_timer_stop(timer_);
        timer_closing_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(timer_), LinkCallbacks::uv_timer_close_cb);
    }
    if (started) log::info("redis link stopped", {{"link", name_}});
    maybe_finish_stop();
}

void RedisLink::maybe_finish_stop() {
    if (state_ != LinkState::Stopped || timer_ || !lookups_.empty()) return;
    auto done = std::move(stop_done_);
    stop_done_.clear();
    for (auto& fn : done) call_user(name_, "stop", fn);
}

void RedisLink::on_timer_closed() {
    timer_ = nullptr;
    timer_closing_ = false;
    maybe_finish_stop();
}

// One attempt: [name lookup ->] connect -> handshake -> Ready, all under one timer.
void RedisLink::begin_attempt() {
    state_ = LinkState::Connecting;
    ++attempt_id_;
    uv_timer_start(timer_, LinkCallbacks::uv_timer_cb,
                   static_cast<uint64_t>(std::max<long long>(1, connect_timeout_.count())), 0);
    if (ep_.is_unix()) return open_context(ep_.unix_path);
    if (is_ip_literal(ep_.host)) return open_context(ep_.host);

    // hiredis would resolve with a blocking getaddrinfo(); resolve on libuv's thread
    // pool instead and hand hiredis the numeric address.
    auto* r = new ResolveReq;
    r->req.data = r;
    r->link = this;
    r->attempt = attempt_id_;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(loop_, &r->req, LinkCallbacks::uv_getaddrinfo_cb, ep_.host.c_str(),
                            nullptr, &hints);
    if (rc != 0) {
        delete r;
        return enter_backoff(std::string("cannot resolve host: ") + uv_strerror(rc));
    }
    lookups_.push_back(r);
}

void RedisLink::on_resolved(ResolveReq* req, int status, addrinfo* res) {
    lookups_.erase(std::remove(lookups_.begin(), lookups_.end(), req), lookups_.end());
    if (req->attempt == attempt_id_ && state_ == LinkState::Connecting) {
        // Prefer IPv4, as hiredis itself does when given a name.
        const addrinfo* pick = nullptr;
        for (const addrinfo* ai = status == 0 ? res : nullptr; ai; ai = ai->ai_next) {
            if (ai->ai_family == AF_INET) {
                pick = ai;
                break;
            }
            if (ai->ai_family == AF_INET6 && !pick) pick = ai;
        }
        char ip[64] = {0};
        if (pick && pick->ai_family == AF_INET)
            uv_ip4_name(reinterpret_cast<const sockaddr_in*>(pick->ai_addr), ip, sizeof ip);
        else if (pick)
            uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(pick->ai_addr), ip, sizeof ip);
        if (ip[0])
            open_context(ip);
        else
            enter_backoff("cannot resolve host " + ep_.host + ": " +
                          (status != 0 ? uv_strerror(status) : "no address"));
    }
    maybe_finish_stop();
}

void RedisLink::open_context(const std::string& address) {
    redisAsyncContext* ac = ep_.is_unix() ? redisAsyncConnectUnix(address.c_str())
                                          : redisAsyncConnect(address.c_str(), ep_.port);
    if (!ac) return enter_backoff("out of memory");
    if (ac->err) {
        // Fails at once, e.g. a missing unix socket; the context never reached the loop.
        std::string why = ac->errstr;
        redisAsyncFree(ac);
        return enter_backoff(why);
    }
    if (!attach_adapter(ac, loop_)) {
        redisAsyncFree(ac);
        return enter_backoff("cannot watch the redis socket");
    }
    ac->data = this;
    ctx_ = ac;
    subscribed_ = false;
    push_mode_ = false;
    // The connect callback must come after the adapter: setting it asks for the first
    // write event, which is how hiredis notices the connect completing.
    redisAsyncSetConnectCallback(ac, LinkCallbacks::hiredis_connect_cb);
    redisAsyncSetDisconnectCallback(ac, LinkCallbacks::hiredis_disconnect_cb);
}

void RedisLink::on_hiredis_connect(const redisAsyncContext* ac, int status) {
    if (ac != ctx_) return;
    if (status != REDIS_OK) {
        // hiredis frees the context right after this callback returns.
        std::string why = ac->errstr && *ac->errstr ? ac->errstr : "connect failed";
        ctx_ = nullptr;
        return enter_backoff(why);
    }
    state_ = LinkState::Authenticating;
    ++conn_id_;
    // A silently dead TCP peer (NAT timeout, host gone) is otherwise never noticed on
    // an idle subscriber connection.
    if (!ep_.is_unix()) redisEnableKeepAlive(&ctx_->c);
    send_handshake();
}

void RedisLink::send_handshake() {
    struct Step {
        std::vector<std::string> argv;
        bool fatal;
    };
    std::vector<Step> steps;
    if (!ep_.username.empty())
        steps.push_back({{"AUTH", ep_.username, ep_.password}, true});
    else if (!ep_.password.empty())
        steps.push_back({{"AUTH", ep_.password}, true});
    if (ep_.db != 0) steps.push_back({{"SELECT", std::to_string(ep_.db)}, true});
    // Only a label for CLIENT LIST; proxies that lack CLIENT must not keep us down.
    steps.push_back({{"CLIENT", "SETNAME", client_name(name_)}, false});
    // The last reply proves the server answers (it is not LOADING, AUTH held).
    steps.push_back({{"PING"}, true});

    uint64_t conn = conn_id_;
    for (size_t i = 0; i < steps.size(); ++i) {
        uint64_t id = next_id_++;
        bool last = i + 1 == steps.size();
        bool fatal = steps[i].fatal;
        std::string what = steps[i].argv[0];
        pending_.emplace(id, [this, conn, last, fatal, what](const RedisValue& reply) {
            on_handshake_reply(conn, last, fatal, what, reply);
        });
        if (!send(steps[i].argv, id)) {
            pending_.erase(id);
            close_context();
            return enter_backoff("cannot send " + what);
        }
    }
}

void RedisLink::on_handshake_reply(uint64_t conn, bool last, bool fatal, const std::string& what,
                                   const RedisValue& reply) {
    // Replies of an older connection, or failures fail_pending() reports after the link
    // already left Authenticating, are not ours to act on.
    if (conn != conn_id_ || state_ != LinkState::Authenticating) return;
    if (reply.is_error() && fatal) {
        close_context();
        return enter_backoff(what + " failed: " + reply.str);
    }
    if (reply.is_error())
        log::debug("redis handshake step failed",
                   {{"link", name_}, {"command", what}, {"error", reply.str}});
    if (last) become_ready();
}

void RedisLink::become_ready() {
    state_ = LinkState::Ready;
    unsigned failed = failures_;
    failures_ = 0;
    ++ready_count_;
    uv_timer_stop(timer_);
    last_down_log_ = {};
    suppressed_down_logs_ = 0;
    log::info("redis link ready", {{"link", name_},
                                   {"endpoint", endpoint_display(ep_)},
                                   {"reconnects", reconnects()},
                                   {"failed_attempts", failed}});
    call_user(name_, "on_ready", cb_.on_ready);
}

void RedisLink::on_hiredis_disconnect(const redisAsyncContext* ac, int status) {
    if (ac != ctx_) return;
    connection_lost(status != REDIS_OK && ac->errstr && *ac->errstr ? ac->errstr
                                                                     : "connection closed");
}

void RedisLink::on_hiredis_reply(redisAsyncContext* ac, void* reply, uint64_t id) {
    if (!reply) {
        // hiredis passes NULL only while it tears a context down. For the current context
        // that is the news of a lost connection (EOF, socket error): report it, which
        // fails every pending command, this one included. For a context we dropped
        // ourselves, the pending commands are failed by whoever dropped it, once the
        // link's state says so.
        if (ac == ctx_)
            connection_lost(ac->errstr && *ac->errstr ? ac->errstr : "connection closed");
        return;
    }
    const auto* r = static_cast<const redisReply*>(reply);
    if (id == 0) {
        if (ac == ctx_) call_user(name_, "on_push", cb_.on_push, to_value(r));
        return;
    }
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // already failed by fail_pending()
    ReplyFn fn = std::move(it->second);
    pending_.erase(it);
    call_user(name_, "reply", fn, to_value(r));
}

// The current context is being freed by hiredis (EOF, socket error, protocol error).
void RedisLink::connection_lost(const std::string& why) {
    ++conn_id_;
    ctx_ = nullptr;
    subscribed_ = false;
    push_mode_ = false;
    enter_backoff(why);
}

// We drop the current context. hiredis calls its pending callbacks with NULL from inside
// redisAsyncFree (or, inside a reply callback, right after that callback returns); they
// find ctx_ changed and do nothing. The caller then fails pending_ (enter_backoff, stop)
// after updating state_, so no owner callback sees a half-torn-down link.
void RedisLink::close_context() {
    ++conn_id_;
    redisAsyncContext* ac = ctx_;
    ctx_ = nullptr;
    subscribed_ = false;
    push_mode_ = false;
    if (ac) redisAsyncFree(ac);
}

void RedisLink::enter_backoff(const std::string& why) {
    if (state_ == LinkState::Stopped) return;  // stop() cleans up and reports nothing
    bool was_ready = state_ == LinkState::Ready;
    ++attempt_id_;  // a name lookup still in flight belongs to the failed attempt
    for (ResolveReq* r : lookups_) uv_cancel(reinterpret_cast<uv_req_t*>(&r->req));
    state_ = LinkState::Backoff;
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    milliseconds delay = backoff_delay(backoff_, failures_, unit(rng_));
    if (failures_ < 64) ++failures_;
    uv_timer_start(timer_, LinkCallbacks::uv_timer_cb, static_cast<uint64_t>(delay.count()), 0);
    log_down(why, was_ready, delay);
    fail_pending();
    call_user(name_, "on_down", cb_.on_down, why);
}

void RedisLink::fail_pending() {
    if (pending_.empty()) return;
    // Detach first: a callback may send again (and is refused) while we iterate.
    auto pending = std::move(pending_);
    pending_.clear();
    RedisValue down = RedisValue::error(kLinkDownError);
    for (auto& [id, fn] : pending) call_user(name_, "reply", fn, down);
}

void RedisLink::on_timer() {
    switch (state_) {
    case LinkState::Backoff: return begin_attempt();
    case LinkState::Connecting:
    case LinkState::Authenticating:
        close_context();
        return enter_backoff("connect timeout after " +
                             std::to_string(connect_timeout_.count()) + "ms");
    default: return;
    }
}

void RedisLink::log_down(const std::string& why, bool was_ready, milliseconds retry) {
    auto now = std::chrono::steady_clock::now();
    if (was_ready) {
        log::warn("redis link lost", {{"link", name_},
                                      {"endpoint", endpoint_display(ep_)},
                                      {"why", why},
                                      {"retry_ms", retry.count()}});
        last_down_log_ = now;
        suppressed_down_logs_ = 0;
        return;
    }
    if (last_down_log_ != std::chrono::steady_clock::time_point{} &&
        now - last_down_log_ < kDownLogInterval) {
        ++suppressed_down_logs_;
        log::debug("redis connect failed", {{"link", name_},
                                            {"endpoint", endpoint_display(ep_)},
                                            {"why", why},
                                            {"retry_ms", retry.count()}});
        return;
    }
    log::warn("redis connect failed", {{"link", name_},
                                       {"endpoint", endpoint_display(ep_)},
                                       {"why", why},
                                       {"retry_ms", retry.count()},
                                       {"failures", failures_},
                                       {"suppressed", suppressed_down_logs_}});
    last_down_log_ = now;
    suppressed_down_logs_ = 0;
}

bool RedisLink::send(const std::vector<std::string>& argv, uint64_t id) {
    if (!ctx_ || argv.empty()) return false;
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    ptrs.reserve(argv.size());
    lens.reserve(argv.size());
    for (const auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
    }
    // hiredis copies the arguments into its output buffer before returning.
    int rc = redisAsyncCommandArgv(ctx_, LinkCallbacks::hiredis_reply_cb,
                                   reinterpret_cast<void*>(static_cast<uintptr_t>(id)),
                                   static_cast<int>(argv.size()), ptrs.data(), lens.data());
    return rc == REDIS_OK;
}

bool RedisLink::command(const std::vector<std::string>& argv, ReplyFn fn) {
    const char* refusal = nullptr;
    if (state_ != LinkState::Ready || !ctx_)
        refusal = kLinkDownError;
    else if (subscribed_)
        refusal = "ERR link is in subscribe mode";
    else if (argv.empty())
        refusal = "ERR empty command";
    if (refusal) {
        call_user(name_, "reply", fn, RedisValue::error(refusal));
        return false;
    }
    uint64_t id = next_id_++;
    pending_.emplace(id, std::move(fn));
    if (send(argv, id)) return true;
    ReplyFn failed = std::move(pending_[id]);
    pending_.erase(id);
    call_user(name_, "reply", failed, RedisValue::error(kLinkDownError));
    return false;
}

bool RedisLink::subscribe_command(const std::vector<std::string>& argv) {
    if (state_ != LinkState::Ready || !ctx_ || argv.empty()) return false;
    std::string cmd = ascii_lowercase(argv[0]);
    bool sub = (cmd == "subscribe" || cmd == "psubscribe") && argv.size() >= 2;
    bool unsub = cmd == "unsubscribe" || cmd == "punsubscribe";
    if (!sub && !unsub) return false;
    if (!send(argv, 0)) return false;
    if (sub) subscribed_ = true;
    return true;
}

bool RedisLink::enter_push_mode() {
    if (state_ != LinkState::Ready || !ctx_ || !pending_.empty()) return false;
    push_mode_ = true;
    return true;
}

bool RedisLink::push_command(const std::vector<std::string>& argv) {
    if (!push_mode_ || state_ != LinkState::Ready || !ctx_ || argv.empty()) return false;
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
    }
    // Appended to hiredis's output buffer without a reply callback (read_pushes() takes
    // every reply); the write event sends it.
    if (redisAppendCommandArgv(&ctx_->c, static_cast<int>(argv.size()), ptrs.data(), lens.data()) != REDIS_OK)
        return false;
    if (ctx_->ev.addWrite) ctx_->ev.addWrite(ctx_->ev.data);
    return true;
}

// Push mode: hiredis's reply dispatch is bypassed (it would assert on replies it has no
// callback for); replies are parsed from the same context's reader and pushed in order.
void RedisLink::read_pushes() {
    redisContext* c = &ctx_->c;
    if (redisBufferRead(c) == REDIS_ERR) {
        std::string why = c->errstr[0] ? c->errstr : "connection closed";
        close_context();
        return enter_backoff(why);
    }
    while (ctx_ && push_mode_) {
        void* reply = nullptr;
        if (redisGetReplyFromReader(&ctx_->c, &reply) == REDIS_ERR) {
            close_context();
            return enter_backoff("protocol error");
        }
        if (!reply) return;
        RedisValue v = to_value(static_cast<const redisReply*>(reply));
        freeReplyObject(reply);
        call_user(name_, "on_push", cb_.on_push, v);  // may stop or drop this link
    }
}

void RedisLink::drop_connection() {
    if (!ctx_) return;
    if (state_ == LinkState::Ready || state_ == LinkState::Authenticating) {
        ::shutdown(ctx_->c.fd, SHUT_RDWR);  // hiredis reads EOF on the next loop turn
        return;
    }
    close_context();
    enter_backoff("forced disconnect");
}

}  // namespace sluice::broker
