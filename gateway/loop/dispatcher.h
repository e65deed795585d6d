// The per-loop dispatcher: everything that runs "later" on one libuv loop goes through it.
//
//   post(fn)          any thread -> fn runs on the loop thread (uv_async + a locked queue)
//   defer(fn)         loop thread -> fn runs at the end of this loop turn, never inside
//                     the call that deferred it; fn deferring again runs in a later round
//                     of the same end of turn (up to 64 rounds, then on the next turn)
//   defer_delete(p)   loop thread -> *p is destroyed at the end of the turn, after the
//                     callback chain that dropped it has returned (never twice: unique_ptr)
//   schedule_flush(f) loop thread -> f.flush_now() at the end of the turn, once however often
//                     asked (a stream's queued bytes leave in one writev per turn); with a
//                     BatchSender (io_uring), the turn's streams offer their bytes and they
//                     leave together in one submission (loop/batch_sender.h)
//   wheel()           the loop's timer wheel, advanced by one repeating uv_timer
//
// One turn ends (uv_check, after the I/O callbacks) with: the deferred calls queued so
// far, the turn hook (the worker's: broker turn, unused channels dropped), the flush list
// (a few rounds: a flush may queue more), then the deferred deletes. While any of these
// has work left a uv_idle handle keeps the loop from sleeping in poll.
//
// Every asynchronous API of the gateway completes through defer()/post() (libuv's rule:
// a callback never runs inside the call that asked for it), so callers need no
// "answered synchronously?" flags.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "gateway/core/timer_wheel.h"
#include "gateway/loop/batch_sender.h"

namespace sluice::loop {

class Dispatcher;

// Something with output to write at the end of the loop turn (net::TcpStream).
class Flushable {
  public:
    virtual void flush_now() = 0;
    // Batched submission. offer(): append the bytes to send now to `iov` and return the
    // socket, or -1 to flush on its own instead; it must run no callbacks (every socket
    // of the batch stays open until it is sent). offered(): what the kernel took of the
    // `count` iovecs offered (or -errno); then finish as flush_now() would.
    virtual int offer(std::vector<iovec>& /*iov*/) { return -1; }
    virtual void offered(long /*result*/, size_t /*count*/) {}

  protected:
    Flushable() = default;
    virtual ~Flushable();  // leaves the flush list it is on
    Flushable(const Flushable&) = delete;
    Flushable& operator=(const Flushable&) = delete;

  private:
    friend class Dispatcher;
    Dispatcher* queued_on_ = nullptr;  // set while on a dispatcher's flush list
};

// How another thread posts to a loop when it cannot know whether that loop is still
// there: one loop finishes work others wait on (forward_auth's shared checks) and resumes
// them on their own loops. Copyable; post() after the loop closed drops fn.
class PostHandle {
  public:
    PostHandle() = default;
    bool post(std::function<void()> fn) const;

  private:
    friend class Dispatcher;
    struct Target {
        std::mutex mutex;
        Dispatcher* dispatcher = nullptr;  // guarded by mutex; nullptr once closed
    };
    explicit PostHandle(std::shared_ptr<Target> t) : target_(std::move(t)) {}
    std::shared_ptr<Target> target_;
};

class Dispatcher {
  public:
    static constexpr uint64_t kDefaultTickMs = 100;  // timer wheel resolution
    static constexpr unsigned kReadBufferSize = 64 * 1024;

    explicit Dispatcher(uv_loop_t* loop, uint64_t tick_ms = kDefaultTickMs);
    // Call close(), let uv_run finish, then run_remaining() before destroying.
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    uv_loop_t* loop() const { return loop_; }
    uint64_t now_ms() const { return uv_now(loop_); }
    TimerWheel& wheel() { return *wheel_; }
    // The loop's read buffer: every read is consumed inside its read callback, so the
    // loop's streams share one and hold none while idle.
    uv_buf_t read_buffer() { return uv_buf_init(read_buf_.get(), kReadBufferSize); }

    // Thread-safe. Runs fn on the loop thread; false (fn dropped) once close() has run.
    bool post(std::function<void()> fn);
    PostHandle post_handle() const { return PostHandle(post_target_); }

    // Loop thread only from here on.
    void defer(std::function<void()> fn);
    template <class T>
    void defer_delete(std::unique_ptr<T> obj) {
        if (obj) doomed(std::make_unique<Doomed<T>>(std::move(obj)));
    }
    void schedule_flush(Flushable& f);
    // Runs once per turn, after the deferred calls and before the flush list.
    void set_turn_hook(std::function<void()> hook) { turn_hook_ = std::move(hook); }
    // Flushes through `sender` from now on (nullptr: each stream writes on its own).
    void set_batch_sender(std::unique_ptr<BatchSender> sender) { batch_ = std::move(sender); }
    bool batching() const { return batch_ != nullptr; }
    // Streams offered to the batch sender so far (each counted once per turn it wrote).
    uint64_t batched_sends() const { return batched_sends_; }

    // Refuses further posts and closes the dispatcher's own handles; the loop finishes
    // once every other handle is closed too.
    void close();
    // After the last uv_run returned: runs whatever is still deferred, then the deletes.
    void run_remaining();

  private:
    struct Deletable {
        virtual ~Deletable() = default;
    };
    template <class T>
    struct Doomed final : Deletable {
        explicit Doomed(std::unique_ptr<T> p) : obj(std::move(p)) {}
        std::unique_ptr<T> obj;
    };
    friend class Flushable;
    friend struct DispatcherCallbacks;

    void doomed(std::unique_ptr<Deletable> d);
    void end_of_turn();
    void run_deferred();
    void run_flushes();
    // Gathers the offers of flushing_ and sends them in one batch into results_.
    void send_batch();
    void run_deletes();
    void run_posted();
    void forget_flushable(Flushable& f);
    void keep_awake();

    uv_loop_t* loop_;
    std::unique_ptr<TimerWheel> wheel_;
    std::unique_ptr<char[]> read_buf_ = std::make_unique<char[]>(kReadBufferSize);
    uv_timer_t tick_;
    uv_check_t check_;
    uv_idle_t idle_;
    uv_async_t async_;
    bool idle_active_ = false;
    bool closed_ = false;
    std::shared_ptr<PostHandle::Target> post_target_;
    std::mutex posted_mutex_;
    std::vector<std::function<void()>> posted_;  // guarded by posted_mutex_
    bool accepting_posts_ = true;                 // guarded by posted_mutex_
    std::vector<std::function<void()>> deferred_;
    std::function<void()> turn_hook_;
    std::vector<Flushable*> flush_;      // null: left the list (destroyed) meanwhile
    std::vector<Flushable*> flushing_;   // the round being flushed
    std::unique_ptr<BatchSender> batch_;
    std::vector<Offer> offers_;          // per flushing_ entry, when batching
    std::vector<iovec> iov_;
    std::vector<long> results_;
    uint64_t batched_sends_ = 0;
    std::vector<std::unique_ptr<Deletable>> doomed_;
};

}  // namespace sluice::loop
