#include "gateway/app/worker.h"

#include <unistd.h>

#include "gateway/app/connection.h"
#include "gateway/app/server.h"
#include "gateway/core/jitter.h"
#include "gateway/core/log.h"
#include "gateway/sse/encode.h"
#include "gateway/sse/history_source.h"

namespace sluice::app {

namespace {
constexpr uint64_t kSweepEveryMs = 1000;   // history TTL and idle channel eviction

history::StoredEventPtr encode_stored(const broker::Message& msg) {
    return sse::make_stored_event(msg.position, msg.event, msg.payload);
}

// The event as the hub built it for every loop (encoded once per process), or, for a
// message without one (events read back from Redis), built here.
history::StoredEventPtr stored_of(const broker::Message& msg) {
    return msg.stored ? msg.stored : encode_stored(msg);
}

// Upstream events counted in this worker's metrics.
class UpstreamMetrics final : public proxy::Observer {
  public:
    explicit UpstreamMetrics(admin::WorkerMetrics& m) : m_(m) {}
    void on_attempt(const std::string& upstream) override { m_.upstreams.count(upstream, "requests"); }
    void on_failure(const std::string& upstream, std::string_view reason) override {
        m_.upstreams.count(upstream, std::string(reason));
    }
    void on_retry(const std::string& upstream) override { m_.upstreams.count(upstream, "retries"); }

  private:
    admin::WorkerMetrics& m_;
};

}  // namespace

// libuv trampolines for the worker's listeners.
struct WorkerCallbacks {
    static void connection(uv_stream_t* s, int status) noexcept {
        if (status < 0) return;
        static_cast<Worker*>(s->data)->on_connection(s);
    }
    static void listener_closed(uv_handle_t* h) noexcept { delete reinterpret_cast<uv_tcp_t*>(h); }
};

Worker::Worker(Server& server, unsigned index, RuntimePtr runtime)
    : server_(server), index_(index), runtime_(std::move(runtime)) {
    uv_loop_init(&loop_);
    dispatcher_ = std::make_unique<loop::Dispatcher>(&loop_);
    dispatcher_->set_turn_hook([this] { on_turn_end(); });
    if (runtime_->config->io_uring) use_io_uring();
    sweep_timer_.owner = this;
    sweep_timer_.fn = &Worker::sweep_cb;
    sse::ChannelStore::Hooks hooks;
    hooks.on_drop = [this](const std::string& name) { broker_->channel_closed(name); };
    // The loop holds channels only for its readers, as references into the process's
    // shared history: limits.max_history_bytes is kept by the hub, not here.
    channels_ = std::make_unique<sse::ChannelStore>(std::move(hooks));
}

Worker::~Worker() = default;

void Worker::use_io_uring() {
    std::string error;
    auto sender = loop::make_uring_sender(&error);
    if (!sender) {
        // Old kernels, seccomp profiles and containers often refuse io_uring: keep serving.
        log::warn("io_uring unavailable; writing with libuv",
                  {{"worker", std::to_string(index_)}, {"error", error}});
        return;
    }
    dispatcher_->set_batch_sender(std::move(sender));
    if (index_ == 0) log::info("io_uring: each loop turn's writes go out in one submission");
}

void Worker::start(std::vector<int> listen_fds, std::vector<int> admin_fds,
                   std::unique_ptr<broker::Broker> broker) {
    broker_ = std::move(broker);
    auto open_listener = [this](int fd, int listen_index) {
        bool admin = listen_index < 0;
        auto* l = new uv_tcp_t;
        uv_tcp_init(&loop_, l);
        l->data = this;
        uv_tcp_open(l, fd);
        int rc = uv_listen(reinterpret_cast<uv_stream_t*>(l), 4096, WorkerCallbacks::connection);
        if (rc != 0) log::error("listen failed", {{"error", uv_strerror(rc)}});
        listeners_.push_back(l);
        listen_index_.push_back(listen_index);
        if (admin) admin_listeners_.push_back(l);
    };
    // listen_fds are in config listen order (Server::bind_listeners).
    for (size_t i = 0; i < listen_fds.size(); ++i) open_listener(listen_fds[i], static_cast<int>(i));
    for (int fd : admin_fds) open_listener(fd, -1);
    wheel().schedule(sweep_timer_, kSweepEveryMs);
    broker_->start(*this);
    auto ctx = std::make_shared<proxy::LoopContext>();
    ctx->dispatcher = dispatcher_.get();
    ctx->observer = std::make_unique<UpstreamMetrics>(metrics_);
    proxy_ = std::make_unique<proxy::LoopProxy>(std::move(ctx));
    proxy_->sync(runtime_->config->upstreams, runtime_->generation);  // starts health checks
    thread_ = std::thread([this] { run(); });
}

void Worker::run() {
    // Runs until maybe_finish() has closed the listeners, the broker and the dispatcher
    // and every connection's socket has closed.
    // Filters (forward_auth) reach this loop's pools through it.
    proxy::LoopProxy::set_current(proxy_.get());
    uv_run(&loop_, UV_RUN_DEFAULT);
    dispatcher_->run_remaining();  // the closed connections' deferred deletes
    channels_.reset();
    broker_.reset();
    proxy::LoopProxy::set_current(nullptr);
    proxy_.reset();  // shut down in the drain: nothing of it is left on the loop
    dispatcher_->run_remaining();
    dispatcher_.reset();
    int rc = uv_loop_close(&loop_);
    if (rc != 0) log::error("leaked handle on a worker loop", {{"worker", index_}});
    server_.worker_finished();
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

void Worker::post(std::function<void(Worker&)> fn) {
    // Dropped once the loop has finished: nothing is left to act on.
    dispatcher_->post([this, fn = std::move(fn)] { fn(*this); });
}

void Worker::on_connection(uv_stream_t* listener) {
    auto c = std::make_unique<Connection>(*this);
    for (size_t i = 0; i < listeners_.size(); ++i) {
        if (reinterpret_cast<uv_stream_t*>(listeners_[i]) != listener) continue;
        if (listen_index_[i] < 0) {
            c->set_admin_listener();
            continue;
        }
        auto index = static_cast<size_t>(listen_index_[i]);
        if (auto context = server_.tls_context(index)) c->set_tls(std::move(context));
        else if (server_.listener_http2(index)) c->allow_h2c();
    }
    Connection* conn = c.get();
    adopt(std::move(c));
    conn->accept(listener);
}

void Worker::adopt(std::unique_ptr<Connection> c) {
    metrics_.connections_open.add(1);
    Connection* key = c.get();
    connections_.emplace(key, std::move(c));
}

void Worker::connection_closed(Connection* c) {
    auto it = connections_.find(c);
    if (it == connections_.end()) return;
    dispatcher_->defer_delete(std::move(it->second));
    connections_.erase(it);
    metrics_.connections_open.add(-1);
    if (draining_) maybe_finish();
}

void Worker::on_turn_end() {
    // Events this loop published itself are taken in now, so they go out this turn (the
    // dispatcher flushes the connections' queued bytes right after this).
    if (broker_) broker_->on_loop_turn();
    // Channels made for readers who did not stay go now: reading leaves no state.
    if (channels_->drop_unused() > 0) sync_channel_metrics();
}

void Worker::sweep_cb(void* self) noexcept { static_cast<Worker*>(self)->on_sweep(); }

void Worker::on_sweep() {
    channels_->sweep(std::chrono::steady_clock::now());
    // The shared history's TTL: one loop is enough (it only looks at what is due).
    if (index_ == 0) broker_->on_sweep();
    sync_channel_metrics();
    metrics_.io_uring_sends.set(static_cast<int64_t>(dispatcher_->batched_sends()));
    wheel().schedule(sweep_timer_, kSweepEveryMs);
}

void Worker::sync_channel_metrics() {
    metrics_.channels.set(static_cast<int64_t>(channels_->size()));
}

sse::Channel& Worker::open_local(const std::string& name) {
    sse::Channel* ch = channels_->find(name);
    if (!ch) {
        // From here on the channel's events come to this loop; what came before is in
        // the shared history (events already queued here are handed over first, and are
        // ignored: this loop does not hold the channel yet).
        broker::HeldChannel held = broker_->channel_opened(name);
        ch = &channels_->open(name, history_limits_for(*runtime_, name), held.id);
        for (auto& ev : held.events) ch->history().append(std::move(ev));
        ch->history().advance_head(held.head, held.head_type);
        sync_channel_metrics();
    }
    // A reader reads it now: the sweep reaches a quiet channel only every few seconds,
    // so what expired since goes here.
    ch->history().expire(std::chrono::steady_clock::now());
    return *ch;
}

sse::Channel& Worker::reader_channel_now(const std::string& name) { return open_local(name); }

sse::Channel* Worker::find_channel(const std::string& name) { return channels_->find(name); }

Worker::ChannelLookup Worker::with_channel(const std::string& name, ChannelFn cb) {
    bool this_turn = broker_->ready() && (channels_->find(name) || broker_->opens_at_once() ||
                                          (!opening_.count(name) && broker_->follows(name)));
    // Looked up when the deferred call runs, not now: the channel may go (unused, or
    // swept) in between, and cb must not run inside this call.
    dispatcher_->defer([this, name, cb = std::move(cb)]() mutable { open_or_queue(name, std::move(cb)); });
    return this_turn ? ChannelLookup::ThisTurn : ChannelLookup::Later;
}

void Worker::open_or_queue(const std::string& name, ChannelFn cb) {
    bool ready = broker_->ready();
    if (ready) {
        if (channels_->find(name)) {
            cb(&open_local(name));
            return;
        }
        // The process follows the channel: its shared history and head are all a new
        // reader needs (no load from the broker, so a resume at the end still gets 204).
        if (!opening_.count(name) && broker_->follows(name)) {
            cb(&open_local(name));
            return;
        }
    }
    auto [it, first] = opening_.try_emplace(name);
    it->second.push_back(std::move(cb));
    if (!first) return;  // a load for this channel is already on its way
    if (!ready) {
        // Never answer from history that may be incomplete (events published while the
        // broker was away arrive with the catch-up): wait for the broker.
        held_opens_.push_back(name);
        return;
    }
    open_channel(name);
}

void Worker::open_channel(const std::string& name) {
    // The broker may answer synchronously (memory) or later (redis); either way the
    // waiting callers run from apply_seed. A weak token would be overkill: the worker
    // outlives its broker, whose callbacks stop when the broker stops.
    broker_->open_channel(name, [this, name](broker::ChannelSeed seed) { apply_seed(name, std::move(seed)); });
}

void Worker::apply_seed(const std::string& name, broker::ChannelSeed seed) {
    auto it = opening_.find(name);
    if (it == opening_.end()) return;
    std::vector<ChannelFn> waiting = std::move(it->second);
    opening_.erase(it);
    // A channel made here for readers holds nothing of its own: if none of them stays
    // attached, it is dropped at the end of this loop turn.
    sse::Channel* ch = &open_local(name);
    if (!seed.recent.empty() && broker_->may_keep_history(name)) {
        // Older events the broker still holds go in front of what live delivery may
        // already have added while the seed was loading; newer ones are appended.
        std::vector<history::StoredEventPtr> older;
        for (const auto& m : seed.recent) {
            history::StoredEventPtr ev = encode_stored(m);
            if (ev->position > ch->history().head()) ch->history().append(std::move(ev));
            else if (ev->position < ch->history().oldest()) older.push_back(std::move(ev));
        }
        if (!older.empty()) ch->history().prepend_older(std::move(older));
        ch->history().advance_head(seed.head);
    } else {
        // At the channel limit the recent events stay in the broker (readers fetch them
        // from there); the head is still exact.
        ch->history().advance_head(seed.head);
    }
    sync_channel_metrics();
    for (auto& fn : waiting) fn(ch);
}

bool Worker::can_fetch() const { return broker_->keeps_history(); }

void Worker::fetch(const std::string& channel, uint64_t from, uint64_t to, FetchFn cb) {
    dispatcher_->defer([this, channel, from, to, cb = std::move(cb)]() mutable {
        broker_->fetch_range(channel, from, to, [cb = std::move(cb)](std::vector<broker::Message> msgs) {
            std::vector<history::StoredEvent> events;
            events.reserve(msgs.size());
            for (const auto& m : msgs) events.push_back(*encode_stored(m));
            cb(std::move(events));
        });
    });
}

void Worker::publish(const std::string& channel, const std::string& payload, const std::string& event,
                     broker::Broker::PublishCallback cb) {
    dispatcher_->defer([this, channel, payload, event, cb = std::move(cb)]() mutable {
        broker_->publish(channel, payload, event, std::move(cb));
    });
}

void Worker::on_broker_message(const broker::Message& msg) {
    // The hub queues a channel's events only to loops that read it; one queued before
    // this loop let the channel go (or took it up again: the shared history had it) is
    // not for it.
    sse::Channel* held = channels_->find_by_id(msg.channel_id);
    if (!held) return;
    sse::Channel& ch = *held;
    // A count that started again (issue 8): the broker says so, or position 1 arrives
    // while this loop holds a later head but not position 1 itself (the hub forgot the
    // channel after positions_ttl, when its events here had expired too).
    const history::ChannelHistory& h = ch.history();
    bool stale = msg.position == 1 && h.head() >= 1 && (h.empty() || h.oldest() > 1);
    if (msg.reset || stale) ch.reset();
    // The fan-out may unsubscribe readers: the channel is dropped at the end of the
    // turn, never during it.
    if (msg.position > ch.history().head()) ch.publish(stored_of(msg));  // else: already have it
}

void Worker::on_broker_ready(bool ready) {
    broker_ready_.store(ready, std::memory_order_relaxed);
    if (!ready) return;
    std::vector<std::string> held;
    held.swap(held_opens_);
    for (const auto& name : held) open_channel(name);
}

void Worker::on_delivered(uint64_t events, uint64_t bytes) {
    metrics_.events_delivered.add(static_cast<int64_t>(events));
    metrics_.sent_bytes.add(static_cast<int64_t>(bytes));
}

void Worker::on_gap() { metrics_.gaps.add(1); }

void Worker::on_slow_disconnect() { metrics_.slow_disconnects.add(1); }

void Worker::close_listeners() {
    for (auto* l : listeners_) uv_close(reinterpret_cast<uv_handle_t*>(l), WorkerCallbacks::listener_closed);
    listeners_.clear();
    admin_listeners_.clear();
    listen_index_.clear();
}

void Worker::set_runtime(RuntimePtr rt) {
    runtime_ = std::move(rt);
    proxy_->sync(runtime_->config->upstreams, runtime_->generation);
}

void Worker::begin_drain() {
    if (draining_) return;
    draining_ = true;
    close_listeners();
    // Health checks and idle upstream connections would keep the loop alive; requests
    // under way keep their pools, whose connections close after use.
    proxy_->shutdown();
    // Connections leave the map only once their sockets have closed (a later callback),
    // but walk a snapshot all the same: drain() must not depend on that.
    // With drain_pace, each stream ends at its own random time in the window, so the
    // reconnects reach the other instances spread out instead of all at once.
    auto pace = static_cast<uint64_t>(runtime_->config->drain_pace.count());
    for (Connection* c : connection_snapshot()) c->drain(random_below(pace));
    maybe_finish();
}

void Worker::force_close_all() {
    draining_ = true;
    close_listeners();
    proxy_->shutdown();
    for (Connection* c : connection_snapshot()) c->close(pipeline::CloseMode::Abort, sse::CloseReason::Drain);
    maybe_finish();
}

std::vector<Connection*> Worker::connection_snapshot() const {
    std::vector<Connection*> all;
    all.reserve(connections_.size());
    for (const auto& entry : connections_) all.push_back(entry.first);
    return all;
}

void Worker::maybe_finish() {
    if (finished_ || !connections_.empty()) return;
    finished_ = true;
    broker_->stop(nullptr);
    wheel().cancel(sweep_timer_);
    proxy_->cancel_subrequests();  // forward_auth checks other loops may still wait on
    dispatcher_->close();  // refuses further posts
}

}  // namespace sluice::app
