#include "gateway/app/worker.h"

#include <unistd.h>

#include "gateway/app/connection.h"
#include "gateway/app/server.h"
#include "gateway/core/log.h"
#include "gateway/sse/encode.h"
#include "gateway/sse/history_source.h"

namespace sluice::app {

namespace {
constexpr uint64_t kTickMs = 100;          // timer wheel resolution
constexpr uint64_t kSweepEveryMs = 1000;   // history TTL and idle channel eviction
constexpr size_t kReadBufferSize = 64 * 1024;
constexpr int kFlushRounds = 4;            // flush passes per loop turn (on_check)

// Every loop keeps its own copy of each channel's history, so the process budget is
// shared out evenly: together the loops stay within limits.max_history_bytes.
uint64_t history_budget_share(const config::Config& cfg, unsigned loops) {
    uint64_t share = cfg.limits.max_history_bytes / (loops > 0 ? loops : 1);
    return share > 0 ? share : 1;
}

history::StoredEvent encode_stored(const broker::Message& msg) {
    history::StoredEvent ev;
    ev.position = msg.position;
    ev.encoded = make_shared_bytes(sse::encode_event(msg.position, msg.event, msg.payload));
    ev.type = sse::payload_type(msg.payload).value_or(std::string());
    ev.at = std::chrono::steady_clock::now();
    return ev;
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

// libuv trampolines for the worker's own handles.
struct WorkerCallbacks {
    static void connection(uv_stream_t* s, int status) noexcept {
        if (status < 0) return;
        static_cast<Worker*>(s->data)->on_connection(s);
    }
    static void tick(uv_timer_t* t) noexcept { static_cast<Worker*>(t->data)->on_tick(); }
    static void check(uv_check_t* c) noexcept { static_cast<Worker*>(c->data)->on_check(); }
    static void async(uv_async_t* a) noexcept { static_cast<Worker*>(a->data)->drain_posted(); }
    static void listener_closed(uv_handle_t* h) noexcept { delete reinterpret_cast<uv_tcp_t*>(h); }
};

Worker::Worker(Server& server, unsigned index, RuntimePtr runtime)
    : server_(server), index_(index), runtime_(std::move(runtime)),
      loops_(runtime_->config->workers) {
    uv_loop_init(&loop_);
    uv_update_time(&loop_);
    wheel_ = std::make_unique<TimerWheel>(kTickMs, uv_now(&loop_));
    read_buf_.reset(new char[kReadBufferSize]);
    sse::ChannelStore::Hooks hooks;
    hooks.on_drop = [this](const std::string& name) { broker_->channel_closed(name); };
    hooks.on_emptied = [this](const std::string& name, uint64_t head) {
        broker_->history_emptied(name, head);
    };
    channels_ = std::make_unique<sse::ChannelStore>(std::move(hooks),
                                                    history_budget_share(*runtime_->config, loops_));
}

Worker::~Worker() = default;

void Worker::start(std::vector<int> listen_fds, std::vector<int> admin_fds,
                   std::unique_ptr<broker::Broker> broker) {
    broker_ = std::move(broker);
    auto open_listener = [this](int fd, bool admin) {
        auto* l = new uv_tcp_t;
        uv_tcp_init(&loop_, l);
        l->data = this;
        uv_tcp_open(l, fd);
        int rc = uv_listen(reinterpret_cast<uv_stream_t*>(l), 4096, WorkerCallbacks::connection);
        if (rc != 0) log::error("listen failed", {{"error", uv_strerror(rc)}});
        listeners_.push_back(l);
        if (admin) admin_listeners_.push_back(l);
    };
    for (int fd : listen_fds) open_listener(fd, false);
    for (int fd : admin_fds) open_listener(fd, true);
    uv_timer_init(&loop_, &tick_);
    tick_.data = this;
    uv_timer_start(&tick_, WorkerCallbacks::tick, kTickMs, kTickMs);
    uv_check_init(&loop_, &check_);
    check_.data = this;
    uv_check_start(&check_, WorkerCallbacks::check);
    uv_async_init(&loop_, &async_, WorkerCallbacks::async);
    async_.data = this;
    broker_->start(*this);
    auto ctx = std::make_shared<proxy::LoopContext>();
    ctx->loop = &loop_;
    ctx->wheel = wheel_.get();
    ctx->read_buf = read_buffer();
    ctx->observer = std::make_unique<UpstreamMetrics>(metrics_);
    proxy_ = std::make_unique<proxy::LoopProxy>(std::move(ctx));
    proxy_->sync(runtime_->config->upstreams, runtime_->generation);  // starts health checks
    thread_ = std::thread([this] { run(); });
}

void Worker::run() {
    uv_run(&loop_, UV_RUN_DEFAULT);
    // Everything was closed by maybe_finish(); run once more for the close callbacks.
    uv_run(&loop_, UV_RUN_DEFAULT);
    channels_.reset();
    broker_.reset();
    proxy_.reset();  // shut down in the drain: nothing of it is left on the loop
    int rc = uv_loop_close(&loop_);
    if (rc != 0) log::error("leaked handle on a worker loop", {{"worker", index_}});
    server_.worker_finished();
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

void Worker::post(std::function<void(Worker&)> fn) {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    if (!accepting_posts_) return;  // the loop has finished: nothing left to act on
    posted_.push_back(std::move(fn));
    uv_async_send(&async_);
}

void Worker::drain_posted() {
    std::vector<std::function<void(Worker&)>> fns;
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        fns.swap(posted_);
    }
    for (auto& fn : fns) fn(*this);
}

uv_buf_t Worker::read_buffer() { return uv_buf_init(read_buf_.get(), kReadBufferSize); }

void Worker::on_connection(uv_stream_t* listener) {
    auto* c = new Connection(*this);
    for (uv_tcp_t* l : admin_listeners_)
        if (reinterpret_cast<uv_stream_t*>(l) == listener) c->set_admin_listener();
    // Link before accept: accept() may already close (and unlink) the connection.
    c->next = connections_;
    if (connections_) connections_->prev = c;
    connections_ = c;
    metrics_.connections_open.add(1);
    c->accept(listener);
}

void Worker::connection_closed(Connection* c) {
    if (c->prev) c->prev->next = c->next;
    else connections_ = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = nullptr;
    metrics_.connections_open.add(-1);
    if (draining_) maybe_finish();
}

void Worker::mark_dirty(Connection* c) {
    if (c->dirty) return;
    c->dirty = true;
    dirty_.push_back(c);
}

void Worker::on_check() {
    // Events this loop published itself are taken in now, so they go out this turn.
    if (broker_) broker_->on_loop_turn();
    // Channels made for readers who did not stay go now: reading leaves no state.
    if (channels_->drop_unused() > 0) sync_channel_metrics();
    // One flush per dirty connection per loop turn: events queued during this turn
    // leave in a single writev. Closed connections are still alive here (their close
    // callbacks run later in this iteration).
    // A flush can queue more (a replay continued by a drained socket, pipelined requests
    // answered once their connection's output drained): flush those too before the loop
    // sleeps, a few rounds at most so one connection cannot hold the loop.
    for (int round = 0; round < kFlushRounds && !dirty_.empty(); ++round) {
        std::vector<Connection*> batch;
        batch.swap(dirty_);
        for (Connection* c : batch) {
            c->dirty = false;
            c->flush();
        }
    }
}

void Worker::on_tick() {
    uint64_t now = uv_now(&loop_);
    wheel_->advance(now);
    if (now - last_sweep_ms_ >= kSweepEveryMs) {
        last_sweep_ms_ = now;
        size_t expired = channels_->sweep(std::chrono::steady_clock::now());
        metrics_.history_evicted.add(static_cast<int64_t>(expired));
        sync_channel_metrics();
    }
}

void Worker::sync_channel_metrics() {
    metrics_.channels.set(static_cast<int64_t>(channels_->size()));
    metrics_.history_bytes.set(static_cast<int64_t>(channels_->bytes()));
    const auto& ev = channels_->budget_evictions();
    metrics_.history_budget_evicted_idle.set(static_cast<int64_t>(ev.idle_channel));
    metrics_.history_budget_evicted_oldest.set(static_cast<int64_t>(ev.oldest));
}

sse::Channel& Worker::open_local(const std::string& name) {
    if (sse::Channel* ch = channels_->find(name)) return *ch;
    sse::Channel& ch = channels_->open(name, history_limits_for(*runtime_, name));
    broker_->channel_opened(name);
    return ch;
}

sse::Channel* Worker::find_channel(const std::string& name) { return channels_->find(name); }

void Worker::with_channel(const std::string& name, ChannelFn cb) {
    bool ready = broker_->ready();
    if (ready) {
        if (sse::Channel* ch = channels_->find(name)) {
            channels_->touch(*ch);
            cb(ch);
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
        std::vector<history::StoredEvent> older;
        for (const auto& m : seed.recent) {
            history::StoredEvent ev = encode_stored(m);
            if (ev.position > ch->history().head()) ch->history().append(std::move(ev));
            else if (ev.position < ch->history().oldest()) older.push_back(std::move(ev));
        }
        if (!older.empty()) ch->history().prepend_older(std::move(older));
        ch->history().advance_head(seed.head);
        channels_->after_event(*ch);  // budget, and the process hears if it stays empty
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
    broker_->fetch_range(channel, from, to, [cb = std::move(cb)](std::vector<broker::Message> msgs) {
        std::vector<history::StoredEvent> events;
        events.reserve(msgs.size());
        for (const auto& m : msgs) events.push_back(encode_stored(m));
        cb(std::move(events));
    });
}

void Worker::on_broker_message(const broker::Message& msg) {
    // The hub let this event through only if the process may hold its channel
    // (limits.max_channels), so the loop always keeps it.
    sse::Channel& ch = open_local(msg.channel);
    // A count that started again (issue 8): the broker says so, or position 1 arrives
    // while this loop holds a later head but not position 1 itself (the hub forgot the
    // channel after positions_ttl, when its events here had expired too).
    const history::ChannelHistory& h = ch.history();
    bool stale = msg.position == 1 && h.head() >= 1 && (h.empty() || h.oldest() > 1);
    if (msg.reset || stale) ch.reset();
    if (msg.position > ch.history().head()) {  // else: already have it
        size_t before = ch.history().size();
        ch.publish(encode_stored(msg));
        size_t after = ch.history().size();
        if (after <= before) metrics_.history_evicted.add(static_cast<int64_t>(before + 1 - after));
    }
    // Budget, LRU order, and the report of a copy that holds nothing (even when this
    // event was not kept): the process counts the channel until every loop reports.
    // The fan-out above may have unsubscribed readers: nothing is dropped before the
    // end of the turn.
    channels_->after_event(ch);
    sync_channel_metrics();
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
}

void Worker::set_runtime(RuntimePtr rt) {
    runtime_ = std::move(rt);
    channels_->set_budget(history_budget_share(*runtime_->config, loops_));
    sync_channel_metrics();
    proxy_->sync(runtime_->config->upstreams, runtime_->generation);
}

void Worker::begin_drain() {
    if (draining_) return;
    draining_ = true;
    close_listeners();
    // Health checks and idle upstream connections would keep the loop alive; requests
    // under way keep their pools, whose connections close after use.
    proxy_->shutdown();
    // drain() may close connections, which unlinks them: walk a snapshot.
    std::vector<Connection*> all;
    for (Connection* c = connections_; c; c = c->next) all.push_back(c);
    for (Connection* c : all) c->drain();
    maybe_finish();
}

void Worker::force_close_all() {
    draining_ = true;
    close_listeners();
    proxy_->shutdown();
    std::vector<Connection*> all;
    for (Connection* c = connections_; c; c = c->next) all.push_back(c);
    for (Connection* c : all) c->close(pipeline::CloseMode::Abort, sse::CloseReason::Drain);
    maybe_finish();
}

void Worker::maybe_finish() {
    if (finished_ || connections_) return;
    finished_ = true;
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        accepting_posts_ = false;
    }
    broker_->stop(nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

}  // namespace sluice::app
