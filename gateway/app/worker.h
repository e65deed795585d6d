// One worker: a thread with its own libuv loop and loop::Dispatcher (timer wheel,
// end-of-turn flushes, deferred deletes), listener sockets (SO_REUSEPORT), broker,
// channels and metrics. It owns its client connections. Workers share nothing on the
// event path; the main thread talks to them only through post() (reload, drain).
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/admin/metrics.h"
#include "gateway/app/runtime.h"
#include "gateway/broker/broker.h"
#include "gateway/core/timer_wheel.h"
#include "gateway/loop/dispatcher.h"
#include "gateway/proxy/loop_proxy.h"
#include "gateway/sse/channel.h"
#include "gateway/sse/history_source.h"
#include "gateway/sse/sse_stream.h"

namespace sluice::app {

class Connection;
class Server;

class Worker final : public broker::Listener,
                     public sse::StreamCounters,
                     public sse::HistorySource {
  public:
    Worker(Server& server, unsigned index, RuntimePtr runtime);
    ~Worker();

    // Takes ownership of already-bound listening sockets (the public ones and the admin
    // listener's) and the broker, then runs the loop on a new thread.
    void start(std::vector<int> listen_fds, std::vector<int> admin_fds,
               std::unique_ptr<broker::Broker> broker);
    void join();

    // Runs fn on the worker's loop thread (thread-safe).
    void post(std::function<void(Worker&)> fn);

    // Loop-thread API ---------------------------------------------------------------
    uv_loop_t* loop() { return &loop_; }
    loop::Dispatcher& dispatcher() { return *dispatcher_; }
    TimerWheel& wheel() { return dispatcher_->wheel(); }
    admin::WorkerMetrics& metrics() { return metrics_; }
    const admin::WorkerMetrics& metrics() const { return metrics_; }
    const RuntimePtr& runtime() const { return runtime_; }
    broker::Broker& broker() { return *broker_; }
    // This loop's upstream pools and health checks (proxy routes).
    proxy::LoopProxy& proxy() { return *proxy_; }
    Server& server() { return server_; }
    unsigned index() const { return index_; }
    bool draining() const { return draining_; }
    // Thread-safe: read by /_sluice/ready on any worker.
    bool broker_ready() const { return broker_ready_.load(std::memory_order_relaxed); }
    uint64_t now_ms() const { return uv_now(&loop_); }

    // Finds or creates the loop's state for a channel a client asked for and passes it
    // to cb (never nullptr: a channel made for readers is dropped at the end of the loop
    // turn in which its last reader leaves, so it needs no cap of its own beyond
    // max_connections). cb never runs inside this call: callers capture a request's
    // AliveToken and check it. The result says when it runs: ThisTurn when the loop
    // holds the channel or the broker opens it at once (memory), so a handler may still
    // choose its status; Later when the broker must load it first (and never before
    // the broker is ready).
    enum class ChannelLookup { ThisTurn, Later };
    using ChannelFn = std::function<void(sse::Channel*)>;
    ChannelLookup with_channel(const std::string& name, ChannelFn cb);
    // The channel if this loop holds it (no broker round trip).
    sse::Channel* find_channel(const std::string& name);
    // The loop's state for the channel now, from the process's shared history (no broker
    // round trip, so possibly incomplete while the broker is away); dropped at the end of
    // the turn unless a reader attaches.
    sse::Channel& reader_channel_now(const std::string& name);
    // Publishes through the broker; cb never runs inside this call.
    void publish(const std::string& channel, const std::string& payload, const std::string& event,
                 broker::Broker::PublishCallback cb);

    // Owns an accepted connection until its socket has closed.
    void adopt(std::unique_ptr<Connection> c);
    // From the connection once its socket has closed: destroyed at the end of the turn.
    void connection_closed(Connection* c);

    void set_runtime(RuntimePtr rt);
    void begin_drain();
    void force_close_all();

    // broker::Listener
    void on_broker_message(const broker::Message& msg) override;
    void on_broker_ready(bool ready) override;

    // sse::HistorySource (the reply never comes inside the fetch() call)
    bool can_fetch() const override;
    void fetch(const std::string& channel, uint64_t from, uint64_t to, FetchFn cb) override;

    // sse::StreamCounters
    void on_delivered(uint64_t events, uint64_t bytes) override;
    void on_gap() override;
    void on_slow_disconnect() override;

  private:
    void run();
    void on_connection(uv_stream_t* listener);
    void on_turn_end();
    // Flushes through io_uring (the io_uring switch); logs and keeps libuv when refused.
    void use_io_uring();
    void on_sweep();
    static void sweep_cb(void* self) noexcept;
    void maybe_finish();
    std::vector<Connection*> connection_snapshot() const;
    void open_or_queue(const std::string& name, ChannelFn cb);
    void close_listeners();
    void open_channel(const std::string& name);
    void apply_seed(const std::string& name, broker::ChannelSeed seed);
    // The loop's state for a channel, created (and the broker told) if it has none.
    sse::Channel& open_local(const std::string& name);
    void sync_channel_metrics();

    friend struct WorkerCallbacks;

    Server& server_;
    unsigned index_;
    RuntimePtr runtime_;
    uv_loop_t loop_;
    std::unique_ptr<loop::Dispatcher> dispatcher_;
    std::thread thread_;
    std::vector<uv_tcp_t*> listeners_;
    std::vector<uv_tcp_t*> admin_listeners_;  // also in listeners_
    // Per entry of listeners_: its index in config listen (for its TLS context), or -1
    // for the admin listener.
    std::vector<int> listen_index_;
    TimerWheel::Entry sweep_timer_;
    std::unique_ptr<broker::Broker> broker_;
    std::unique_ptr<proxy::LoopProxy> proxy_;
    std::unique_ptr<sse::ChannelStore> channels_;
    admin::WorkerMetrics metrics_;
    // Channels being loaded from the broker, with the callers waiting for them.
    std::unordered_map<std::string, std::vector<ChannelFn>> opening_;
    // Channels asked for while the broker was not ready: opened once it is.
    std::vector<std::string> held_opens_;
    std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
    bool draining_ = false;
    bool finished_ = false;
    std::atomic<bool> broker_ready_{false};
};

}  // namespace sluice::app
