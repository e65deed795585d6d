// RedisLink: one hiredis async connection on a worker's uv loop that keeps itself
// connected (connect -> AUTH/SELECT -> Ready; on loss: Backoff with jittered delay ->
// connect again) until stop(). The broker owns one per role (command link, subscriber
// link). Everything runs on the loop thread; nothing here blocks the loop.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gateway/broker/redis_url.h"

struct redisAsyncContext;

namespace sluice::broker {

enum class LinkState { Disconnected, Connecting, Authenticating, Ready, Backoff, Stopped };
const char* link_state_name(LinkState state);

struct BackoffPolicy {
    std::chrono::milliseconds min{100};
    std::chrono::milliseconds max{5000};
};

inline constexpr std::chrono::milliseconds kBackoffFloor{10};
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{2000};

// Capped exponential backoff with full jitter: attempt n (0-based) waits
// uniform(0, min(max, min * 2^n)), never less than kBackoffFloor. unit_random is in
// [0, 1) (clamped if not). Pure; the link feeds it from its own PRNG.
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, unsigned attempt,
                                        double unit_random);

// A reply as plain data, copied out of hiredis, so callers never touch redisReply
// lifetimes. Status replies ("+OK") are Status, error replies ("-ERR ...") Error, with
// the text in `str`.
struct RedisValue {
    enum class Type { Nil, Integer, String, Status, Error, Array };
    Type type = Type::Nil;
    long long integer = 0;
    std::string str;
    std::vector<RedisValue> elements;

    bool is_error() const { return type == Type::Error; }
    static RedisValue error(std::string message);
};

// The text every command callback gets when its reply can no longer arrive.
inline constexpr const char* kLinkDownError = "ERR link down";

class RedisLink {
  public:
    // All callbacks run on the loop thread. Any of them may call command(),
    // subscribe_command() or stop() on this link, but must not destroy it.
    struct Callbacks {
        // Connected and AUTH + SELECT done. Fired again after every reconnect; the
        // owner re-issues its (P)SUBSCRIBEs here.
        std::function<void()> on_ready;
        // Fired each time the link enters Backoff: when a connection is lost (Ready or
        // not) and after every failed connection attempt, so it repeats while Redis stays
        // unreachable. Not fired by stop().
        std::function<void(const std::string& why)> on_down;
        // Subscriber links: every reply to (P)SUBSCRIBE / (P)UNSUBSCRIBE and every
        // message / pmessage, as the Array Redis sent.
        std::function<void(const RedisValue& push)> on_push;
    };

    RedisLink(uv_loop_t* loop, RedisEndpoint ep, BackoffPolicy backoff, std::string name,
              Callbacks cb);
    // Destroy only after stop()'s `done` ran, or without ever calling start(). (If that
    // is violated, the destructor still detaches from hiredis and libuv, and logs.)
    ~RedisLink();
    RedisLink(const RedisLink&) = delete;
    RedisLink& operator=(const RedisLink&) = delete;

    // Bounds each attempt (name resolution + connect + AUTH/SELECT). Call before start().
    void set_connect_timeout(std::chrono::milliseconds timeout) { connect_timeout_ = timeout; }

    // Starts connecting; failures go to Backoff and retry forever until stop(). Once.
    void start();
    // Closes the connection, cancels the timer and a pending name lookup, and fails every
    // pending command (their callbacks run before stop() returns). `done` runs once every
    // handle and request of the link is closed, from a libuv callback (synchronously if
    // the link never started). Call uv_loop_close only after uv_run returned. A second
    // stop() only adds its `done`.
    void stop(std::function<void()> done);

    LinkState state() const { return state_; }
    bool ready() const { return state_ == LinkState::Ready; }
    // Successful connections (reaching Ready) after the first one.
    uint64_t reconnects() const { return ready_count_ > 0 ? ready_count_ - 1 : 0; }
    const std::string& name() const { return name_; }

    using ReplyFn = std::function<void(const RedisValue& reply)>;
    // Sends a command; argv is binary-safe. `fn` is called exactly once: with the reply
    // (which may be an Error reply from Redis), or with Error kLinkDownError when the
    // link is not Ready, the connection drops before the reply, or stop() is called
    // (then before stop() returns; never after). Returns false when the command was not
    // sent; `fn` has then already been called. Refused (false) on a link that has sent
    // subscribe_command() on its current connection: hiredis 0.14 cannot match ordinary
    // replies in subscribed mode.
    bool command(const std::vector<std::string>& argv, ReplyFn fn);

    // Subscriber links: (P)SUBSCRIBE or (P)UNSUBSCRIBE; the replies arrive via on_push.
    // Returns false if not Ready or argv[0] is not one of those four commands.
    // Subscriptions end with the connection: re-issue them from on_ready.
    bool subscribe_command(const std::vector<std::string>& argv);

    // Push links (sharded pub/sub, which hiredis 0.14 does not know): from now until the
    // connection ends, every reply on it goes to on_push in arrival order, and commands
    // go out with push_command() only. Call from on_ready (no command may be pending);
    // again after every reconnect. False if not Ready or commands are pending.
    bool enter_push_mode();
    // Push links: sends argv (SSUBSCRIBE, SUNSUBSCRIBE, ...); its replies come to on_push.
    bool push_command(const std::vector<std::string>& argv);

    // Drops the connection as if Redis went away (the socket is shut down, hiredis sees
    // EOF on the next turn, so it is safe inside a reply callback). Pending commands
    // fail, the link goes to Backoff and reconnects: the owner starts over from on_ready.
    // Used after a reply that leaves the owner's state unknown, and by tests.
    void drop_connection();

  private:
    friend struct LinkCallbacks;  // the hiredis/libuv trampolines in redis_link.cc
    struct ResolveReq;

    void on_hiredis_connect(const redisAsyncContext* ac, int status);
    void on_hiredis_disconnect(const redisAsyncContext* ac, int status);
    void on_hiredis_reply(redisAsyncContext* ac, void* reply, uint64_t id);
    void on_timer();
    void on_timer_closed();
    void read_pushes();
    void on_resolved(ResolveReq* req, int status, ::addrinfo* res);

    void begin_attempt();
    void open_context(const std::string& address);
    void send_handshake();
    void on_handshake_reply(uint64_t conn, bool last, bool fatal, const std::string& what,
                            const RedisValue& reply);
    void become_ready();
    void connection_lost(const std::string& why);
    void close_context();
    void enter_backoff(const std::string& why);
    void fail_pending();
    bool send(const std::vector<std::string>& argv, uint64_t id);
    void maybe_finish_stop();
    void log_down(const std::string& why, bool was_ready, std::chrono::milliseconds retry);

    uv_loop_t* loop_;
    RedisEndpoint ep_;
    BackoffPolicy backoff_;
    std::string name_;
    Callbacks cb_;
    std::chrono::milliseconds connect_timeout_ = kDefaultConnectTimeout;

    LinkState state_ = LinkState::Disconnected;
    redisAsyncContext* ctx_ = nullptr;  // current connection; hiredis frees it or we do
    uv_timer_t* timer_ = nullptr;       // heap-owned; deleted in its close callback
    bool timer_closing_ = false;
    std::vector<ResolveReq*> lookups_;  // in-flight uv_getaddrinfo, each freed in its callback
    uint64_t attempt_id_ = 0;           // tags the current attempt's name lookup
    uint64_t conn_id_ = 0;              // tags the current connection's handshake replies
    bool subscribed_ = false;
    bool push_mode_ = false;            // see enter_push_mode(); ends with the connection
    unsigned failures_ = 0;             // failed attempts since the last Ready (backoff n)
    uint64_t ready_count_ = 0;

    // Pending commands by id; hiredis privdata carries the id, never a pointer, so a
    // late or duplicate callback finds nothing instead of freed memory. Id 0 = push.
    uint64_t next_id_ = 1;
    std::map<uint64_t, ReplyFn> pending_;  // ordered: failures are reported in send order

    std::vector<std::function<void()>> stop_done_;
    std::mt19937_64 rng_;

    // Log rate limiting while an outage lasts.
    std::chrono::steady_clock::time_point last_down_log_{};
    unsigned suppressed_down_logs_ = 0;
};

}  // namespace sluice::broker
