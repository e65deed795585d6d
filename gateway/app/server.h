// The process: binds the listeners, starts the workers, and runs the main thread's
// loop for signals — SIGTERM/SIGINT drain, SIGHUP reloads the config file, SIGUSR1
// reopens the access log (rotation).
// Also holds what workers share: connection admission counts and the memory hub.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/admin/metrics.h"
#include "gateway/app/runtime.h"
#include "gateway/broker/counters.h"
#include "gateway/broker/memory_hub.h"
#include "gateway/broker/redis_feed.h"
#include "gateway/tls/server_context.h"

namespace sluice::app {

class Worker;

class Server {
  public:
    Server(std::string config_path, RuntimePtr runtime);
    ~Server();

    // Runs until drained; returns the process exit code.
    int run();

    enum class Admission { Ok, TooManyConnections, TooManyFromAddress };
    // Connections on the admin listener have a budget of their own, so probes and
    // scrapes still answer when clients have used up max_connections (a full instance
    // must not look dead to its orchestrator).
    static constexpr int64_t kMaxAdminConnections = 64;
    // Thread-safe. Ok means the connection is counted until release().
    Admission admit(const std::string& address, const config::Limits& limits, bool admin_listener);
    void release(const std::string& address, bool admin_listener);

    bool ready() const;
    // The process has an admin listener (admin.listen as started; a reload cannot add or
    // remove one): the admin endpoints answer there only.
    bool has_admin_listener() const { return started_config_->admin.has_value(); }
    std::string render_metrics() const;

    // Thread-safe. The TLS context new connections on listen[index] get: null for a plain
    // listener. A reload swaps it; connections keep the one they were accepted with.
    tls::ServerContextPtr tls_context(size_t listen_index) const;
    // The listener serves HTTP/2 (`http2:` as it was at start: listeners change only with
    // a restart). On a plain listener: h2c with prior knowledge.
    bool listener_http2(size_t listen_index) const {
        return listen_index < started_config_->listen.size() && started_config_->listen[listen_index].http2;
    }

    // Called by a worker thread when its loop has ended.
    void worker_finished();

  private:
    // One socket per worker and address: the public listeners, and the admin listener
    // (admin.listen) apart, so that workers know which connections came through it.
    bool bind_listeners(std::vector<std::vector<int>>& fds_per_worker,
                        std::vector<std::vector<int>>& admin_fds_per_worker);
    std::vector<uint16_t> bound_ports_;  // per listen address, the port it got (port 0)
    uint16_t admin_bound_port_ = 0;
    // One context per `tls:` listener of cfg (null for plain ones), each built with the
    // running one as `previous` (ticket keys carry over). False with *error on failure.
    bool build_tls_contexts(const config::Config& cfg, std::vector<tls::ServerContextPtr>& out,
                            std::string* error) const;
    void on_signal(int signum);
    void reopen_logs();
    void reload();
    void begin_drain();
    void on_drain_timeout();
    void on_workers_check();
    void close_main_handles();
    std::unique_ptr<broker::Broker> make_broker(Worker& w);

    friend struct ServerCallbacks;

    std::string config_path_;
    RuntimePtr runtime_;
    // What the process started with: listen, workers and broker can only change by a
    // restart, so a reload compares against these, not against the previous reload.
    config::ConfigPtr started_config_;
    uint64_t generation_ = 1;
    uv_loop_t loop_;
    uv_signal_t sigterm_, sigint_, sighup_, sigusr1_;
    uv_timer_t drain_timer_;
    uv_async_t workers_async_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::unique_ptr<broker::MemoryHub> hub_;
    std::unique_ptr<broker::RedisFeed> feed_;  // redis broker only
    broker::BrokerCounters broker_counters_;
    std::atomic<unsigned> workers_done_{0};
    bool draining_ = false;
    bool main_closed_ = false;

    std::atomic<int64_t> connections_{0};
    std::atomic<int64_t> admin_connections_{0};
    std::mutex per_address_mutex_;
    std::unordered_map<std::string, uint32_t> per_address_;

    mutable std::mutex tls_mutex_;
    std::vector<tls::ServerContextPtr> tls_contexts_;  // per listen index

    mutable std::mutex global_mutex_;
    admin::GlobalState global_;
};

}  // namespace sluice::app
