#include "gateway/app/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "gateway/app/worker.h"
#include "gateway/broker/memory_broker.h"
#include "gateway/broker/redis_broker.h"
#include "gateway/broker/redis_glob.h"
#include "gateway/core/log.h"
#include "gateway/sse/encode.h"
#include "plugins/registry.h"

namespace sluice::app {

struct ServerCallbacks {
    static void signal(uv_signal_t* h, int signum) noexcept {
        static_cast<Server*>(h->data)->on_signal(signum);
    }
    static void drain_timeout(uv_timer_t* t) noexcept {
        static_cast<Server*>(t->data)->on_drain_timeout();
    }
    static void workers(uv_async_t* a) noexcept { static_cast<Server*>(a->data)->on_workers_check(); }
};

namespace {

// One listening socket with SO_REUSEPORT, so every worker (and several sluice processes,
// if the operator wants) can bind the same address; the kernel spreads connections.
int open_listener(const config::ListenAddress& addr, uint16_t port, uint16_t* bound_port,
                  std::string* error, bool reuse_port = true) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (uv_ip4_addr(addr.host.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) == 0) {
        len = sizeof(sockaddr_in);
    } else if (uv_ip6_addr(addr.host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) == 0) {
        len = sizeof(sockaddr_in6);
    } else {
        *error = "not a numeric IP address: " + addr.host;
        return -1;
    }
    int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (ss.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        *error = "bind " + addr.host + ":" + std::to_string(port) + ": " + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    sockaddr_storage got{};
    socklen_t got_len = sizeof got;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len);
    *bound_port = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                                 : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
    return fd;
}

// The Redis patterns that cover every channel an sse or poll route can name.
std::vector<std::string> redis_patterns(const Runtime& rt) {
    std::vector<std::string> out;
    for (const auto& r : rt.routes.routes()) {
        if (!r.channel) continue;
        std::string p = broker::redis_glob(*r.channel);
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
    }
    return out;
}

}  // namespace

Server::Server(std::string config_path, RuntimePtr runtime)
    : config_path_(std::move(config_path)), runtime_(std::move(runtime)),
      started_config_(runtime_->config) {}

Server::~Server() = default;

bool Server::bind_listeners(std::vector<std::vector<int>>& fds,
                            std::vector<std::vector<int>>& admin_fds) {
    const auto& cfg = *runtime_->config;
    fds.assign(cfg.workers, {});
    admin_fds.assign(cfg.workers, {});
    auto close_all = [&] {
        for (auto* set : {&fds, &admin_fds})
            for (auto& v : *set)
                for (int f : v) ::close(f);
    };
    // One socket per worker for `addr`, appended to out[worker].
    auto bind_address = [&](const config::ListenAddress& addr, std::vector<std::vector<int>>& out,
                             bool admin) {
        uint16_t port = addr.port;
        if (!cfg.share_listen_port) {
            // SO_REUSEPORT would let a second sluice (or anything else using it) on the
            // same port silently take half the connections. Unless sharing is asked for,
            // first claim the port without it: that fails if anyone listens there, and
            // for port 0 it picks a port nobody uses.
            std::string error;
            uint16_t free_port = 0;
            int probe = open_listener(addr, port, &free_port, &error, false);
            if (probe < 0) {
                log::error("cannot listen", {{"error", error},
                                             {"hint", "another process uses this address; "
                                                      "set share_listen_port: true to share it"}});
                return false;
            }
            ::close(probe);
            port = free_port;
        }
        for (unsigned w = 0; w < cfg.workers; ++w) {
            std::string error;
            uint16_t bound = 0;
            int fd = open_listener(addr, port, &bound, &error);
            if (fd < 0) {
                log::error("cannot listen", {{"error", error}});
                return false;
            }
            port = bound;  // port 0: later workers join the port the first one got
            out[w].push_back(fd);
            std::string host = addr.host.find(':') != std::string::npos ? "[" + addr.host + "]" : addr.host;
            std::string address = host + ":" + std::to_string(port);
            if (admin)
                log::info("listening",
                          {{"address", address}, {"worker", w}, {"serves", "admin endpoints only"}});
            else if (addr.tls)
                log::info("listening", {{"address", address}, {"worker", w}, {"tls", true},
                                        {"alpn", addr.http2 ? "h2,http/1.1" : "http/1.1"}});
            else if (addr.http2)
                log::info("listening", {{"address", address}, {"worker", w}, {"h2c", true}});
            else
                log::info("listening", {{"address", address}, {"worker", w}});
        }
        if (admin) admin_bound_port_ = port;
        else bound_ports_.push_back(port);
        return true;
    };
    for (const auto& addr : cfg.listen) {
        if (!bind_address(addr, fds, false)) {
            close_all();
            return false;
        }
    }
    if (cfg.admin && !bind_address(cfg.admin->listen, admin_fds, true)) {
        close_all();
        return false;
    }
    return true;
}

std::unique_ptr<broker::Broker> Server::make_broker(Worker& w) {
    const auto& cfg = *runtime_->config;
    if (broker::uses_redis(cfg.broker.type))
        return std::make_unique<broker::RedisBroker>(w.loop(), *hub_, cfg.broker, cfg.limits.max_event_size,
                                                     broker_counters_, w.index(), feed_->interest());
    return std::make_unique<broker::MemoryBroker>(w.loop(), *hub_);
}

bool Server::build_tls_contexts(const config::Config& cfg, std::vector<tls::ServerContextPtr>& out,
                                std::string* error) const {
    out.assign(cfg.listen.size(), nullptr);
    for (size_t i = 0; i < cfg.listen.size(); ++i) {
        const auto& l = cfg.listen[i];
        if (!l.tls) continue;
        const tls::ContextOptions& options = *l.tls;  // ALPN: h2 first with http2 (config)
        tls::ServerContextPtr previous = tls_context(i);
        auto built = tls::ServerContext::create(options, previous.get());
        if (auto* e = std::get_if<tls::ContextError>(&built)) {
            *error = "listen[" + std::to_string(i) + "].tls: " + e->error.message;
            return false;
        }
        auto& b = std::get<tls::BuiltContext>(built);
        for (const auto& w : b.warnings)
            log::warn("TLS certificate", {{"listen", i}, {"warning", w}});
        out[i] = std::move(b.context);
    }
    return true;
}

tls::ServerContextPtr Server::tls_context(size_t listen_index) const {
    std::lock_guard<std::mutex> lock(tls_mutex_);
    return listen_index < tls_contexts_.size() ? tls_contexts_[listen_index] : nullptr;
}

int Server::run() {
    const auto& cfg = *runtime_->config;
    {
        std::vector<tls::ServerContextPtr> contexts;
        std::string error;
        if (!build_tls_contexts(cfg, contexts, &error)) {
            log::error("cannot start TLS", {{"error", error}});
            return 1;
        }
        std::lock_guard<std::mutex> lock(tls_mutex_);
        tls_contexts_ = std::move(contexts);
    }
    std::vector<std::vector<int>> fds, admin_fds;
    if (!bind_listeners(fds, admin_fds)) return 1;

    uv_loop_init(&loop_);
    for (auto* s : {&sigterm_, &sigint_, &sighup_, &sigusr1_}) {
        uv_signal_init(&loop_, s);
        s->data = this;
    }
    uv_signal_start(&sigterm_, ServerCallbacks::signal, SIGTERM);
    uv_signal_start(&sigint_, ServerCallbacks::signal, SIGINT);
    uv_signal_start(&sighup_, ServerCallbacks::signal, SIGHUP);
    uv_signal_start(&sigusr1_, ServerCallbacks::signal, SIGUSR1);
    uv_timer_init(&loop_, &drain_timer_);
    drain_timer_.data = this;
    uv_async_init(&loop_, &workers_async_, ServerCallbacks::workers);
    workers_async_.data = this;

    // Channel heads live for their route's history.positions_ttl after the last event,
    // so positions are never reused (issue 8); the hub also decides limits.max_channels.
    hub_ = std::make_unique<broker::MemoryHub>();
    // Each event is encoded once for the process; every loop shares the result.
    hub_->set_encoder([](const broker::Message& m) {
        return sse::make_stored_event(m.position, m.event, m.payload);
    });
    hub_->set_positions_ttl(positions_ttl_fn(runtime_));
    hub_->set_history_limits(history_limits_fn(runtime_));
    hub_->set_history_budget(cfg.limits.max_history_bytes);
    hub_->set_max_channels(cfg.limits.max_channels);
    if (broker::uses_redis(cfg.broker.type)) {
        // Subscribed before any client is served, so events published between a
        // session's start and its browser's connect are kept (docs/publishing.md).
        feed_ = std::make_unique<broker::RedisFeed>(&loop_, *hub_, cfg.broker, cfg.limits.max_event_size,
                                                    redis_patterns(*runtime_), broker_counters_);
        feed_->start();
    }
    for (unsigned i = 0; i < cfg.workers; ++i)
        workers_.push_back(std::make_unique<Worker>(*this, i, runtime_));
    for (unsigned i = 0; i < cfg.workers; ++i)
        workers_[i]->start(std::move(fds[i]), std::move(admin_fds[i]), make_broker(*workers_[i]));
    log::info("sluice started",
              {{"config", config_path_},
               {"broker", broker::broker_type_name(cfg.broker.type)}});

    uv_run(&loop_, UV_RUN_DEFAULT);
    for (auto& w : workers_) w->join();
    int rc = uv_loop_close(&loop_);
    if (rc != 0) log::error("leaked handle on the main loop");
    log::info("sluice stopped");
    return 0;
}

Server::Admission Server::admit(const std::string& address, const config::Limits& limits,
                                bool admin_listener) {
    if (admin_listener) {
        if (admin_connections_.fetch_add(1) < kMaxAdminConnections) return Admission::Ok;
        admin_connections_.fetch_sub(1);
        return Admission::TooManyConnections;
    }
    if (limits.max_connections && connections_.load() >= static_cast<int64_t>(limits.max_connections))
        return Admission::TooManyConnections;
    std::lock_guard<std::mutex> lock(per_address_mutex_);
    uint32_t& n = per_address_[address];
    if (limits.max_connections_per_ip && n >= limits.max_connections_per_ip) {
        if (n == 0) per_address_.erase(address);
        return Admission::TooManyFromAddress;
    }
    ++n;
    connections_.fetch_add(1);
    return Admission::Ok;
}

void Server::release(const std::string& address, bool admin_listener) {
    if (admin_listener) {
        admin_connections_.fetch_sub(1);
        return;
    }
    connections_.fetch_sub(1);
    std::lock_guard<std::mutex> lock(per_address_mutex_);
    auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

bool Server::ready() const {
    for (const auto& w : workers_)
        if (!w->broker_ready()) return false;
    return true;
}

std::string Server::render_metrics() const {
    std::vector<const admin::WorkerMetrics*> ms;
    for (const auto& w : workers_) ms.push_back(&w->metrics());
    admin::GlobalState g;
    {
        std::lock_guard<std::mutex> lock(global_mutex_);
        g = global_;
    }
    g.broker_up = ready();
    if (hub_) {
        g.channels_stored = hub_->stored_channels();
        g.dropped_max_channels = hub_->dropped_at_cap();
        g.events_received = hub_->events_received();
        broker::HubHistory::Stats h = hub_->history_stats();
        g.history_bytes = h.bytes;
        g.history_evicted = h.evicted_limits;
        g.history_budget_evicted_idle = h.evicted_idle;
        g.history_budget_evicted_oldest = h.evicted_oldest;
    }
    g.broker_kind = broker::broker_type_name(started_config_->broker.type);  // fixed at start
    if (feed_) g.broker = &broker_counters_;
    g.plugin_decisions = &admin::plugin_decisions();
    return admin::render_prometheus(ms, g);
}

// Log rotation (nginx's convention): the rotator renames the file, then SIGUSR1 makes
// sluice open a new one under the configured path. No copytruncate needed.
void Server::reopen_logs() {
    if (log::reopen_access_log())
        log::info("access log reopened");
    else
        log::error("cannot reopen the access log; still writing to the old file");
}

void Server::on_signal(int signum) {
    if (signum == SIGHUP) {
        reload();
        return;
    }
    if (signum == SIGUSR1) {
        reopen_logs();
        return;
    }
    if (draining_) {
        log::warn("second stop signal: closing every connection now");
        on_drain_timeout();
        return;
    }
    begin_drain();
}

void Server::reload() {
    config::LoadResult r = config::load_config_file(config_path_, &plugins::builtin_registry());
    if (!r.errors.empty()) {
        for (const auto& e : r.errors)
            log::error("config reload rejected", {{"error", e.to_string()}});
        std::lock_guard<std::mutex> lock(global_mutex_);
        ++global_.reload_failures;
        return;
    }
    std::string error;
    RuntimePtr next = build_runtime(r.config, ++generation_, &error);
    if (!next) {
        log::error("config reload rejected", {{"error", error}});
        std::lock_guard<std::mutex> lock(global_mutex_);
        ++global_.reload_failures;
        return;
    }
    const auto& running = *started_config_;
    const auto& new_cfg = *next->config;
    // Compared with the running listeners: a config that now names the port a `:0`
    // listener was given is no change.
    bool listen_changed = running.listen.size() != new_cfg.listen.size();
    for (size_t i = 0; !listen_changed && i < new_cfg.listen.size(); ++i) {
        uint16_t port = new_cfg.listen[i].port;
        bool same_port = port == running.listen[i].port ||
                         (i < bound_ports_.size() && port == bound_ports_[i]);
        listen_changed = running.listen[i].host != new_cfg.listen[i].host || !same_port ||
                         running.listen[i].tls.has_value() != new_cfg.listen[i].tls.has_value() ||
                         running.listen[i].http2 != new_cfg.listen[i].http2;
    }
    // Certificates are read again: new connections get the new ones, open connections
    // keep theirs. With the listeners changed (a restart's business) the running
    // contexts stay, as the running listeners do.
    std::vector<tls::ServerContextPtr> contexts;
    if (!listen_changed) {
        if (!build_tls_contexts(new_cfg, contexts, &error)) {
            log::error("config reload rejected", {{"error", error}});
            std::lock_guard<std::mutex> lock(global_mutex_);
            ++global_.reload_failures;
            return;
        }
    }
    std::string needs_restart;
    if (listen_changed) needs_restart += "listen ";
    if (running.admin.has_value() != new_cfg.admin.has_value() ||
        (running.admin && (running.admin->listen.host != new_cfg.admin->listen.host ||
                           (running.admin->listen.port != new_cfg.admin->listen.port &&
                            admin_bound_port_ != new_cfg.admin->listen.port))))
        needs_restart += "admin.listen ";
    if (running.workers != new_cfg.workers) needs_restart += "workers ";
    if (running.io_uring != new_cfg.io_uring) needs_restart += "io_uring ";
    if (running.broker.type != new_cfg.broker.type || running.broker.url != new_cfg.broker.url ||
        running.broker.nodes != new_cfg.broker.nodes)
        needs_restart += "broker ";
    if (!needs_restart.empty()) {
        needs_restart.pop_back();
        log::warn("these changes take effect only after a restart; the running values stay",
                  {{"keys", needs_restart}});
    }
    log::set_level(new_cfg.log_level);
    if (!log::set_access_log(new_cfg.access_log))
        log::error("cannot open access log; keeping the previous one",
                   {{"path", new_cfg.access_log}});
    runtime_ = next;
    if (!listen_changed) {
        std::lock_guard<std::mutex> lock(tls_mutex_);
        tls_contexts_ = std::move(contexts);
    }
    hub_->set_positions_ttl(positions_ttl_fn(next));
    hub_->set_history_limits(history_limits_fn(next));
    hub_->set_history_budget(new_cfg.limits.max_history_bytes);
    hub_->set_max_channels(new_cfg.limits.max_channels);
    if (feed_) feed_->set_patterns(redis_patterns(*next));
    for (auto& w : workers_) w->post([next](Worker& wk) { wk.set_runtime(next); });
    {
        std::lock_guard<std::mutex> lock(global_mutex_);
        ++global_.reloads;
    }
    log::info("config reloaded", {{"generation", generation_}, {"routes", new_cfg.routes.size()}});
}

void Server::begin_drain() {
    draining_ = true;
    auto timeout = static_cast<uint64_t>(runtime_->config->drain_timeout.count());
    log::info("draining", {{"timeout_ms", timeout}});
    uv_timer_start(&drain_timer_, ServerCallbacks::drain_timeout, timeout, 0);
    for (auto& w : workers_) w->post([](Worker& wk) { wk.begin_drain(); });
}

void Server::on_drain_timeout() {
    for (auto& w : workers_) w->post([](Worker& wk) { wk.force_close_all(); });
}

void Server::worker_finished() {
    workers_done_.fetch_add(1);
    uv_async_send(&workers_async_);
}

void Server::on_workers_check() {
    if (main_closed_ || workers_done_.load() < workers_.size()) return;
    main_closed_ = true;
    uv_timer_stop(&drain_timer_);
    if (feed_) {
        feed_->stop([this] { close_main_handles(); });
        return;
    }
    close_main_handles();
}

void Server::close_main_handles() {
    for (auto* h :
         {reinterpret_cast<uv_handle_t*>(&sigterm_), reinterpret_cast<uv_handle_t*>(&sigint_),
          reinterpret_cast<uv_handle_t*>(&sighup_), reinterpret_cast<uv_handle_t*>(&sigusr1_),
          reinterpret_cast<uv_handle_t*>(&drain_timer_),
          reinterpret_cast<uv_handle_t*>(&workers_async_)})
        uv_close(h, nullptr);
}

}  // namespace sluice::app
