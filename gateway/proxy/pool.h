// One upstream (a named group of servers) as seen by one worker loop: round-robin choice
// of a server, passive health (max_fails failures in a row take a server out for
// fail_timeout; never the only server of an upstream), the result of active health checks, and a pool of idle keep-alive
// connections per server. Shared (shared_ptr) by the LoopProxy and by every exchange and
// connection using it, so a pool replaced on reload lives until its last connection closes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/proxy/options.h"
#include "gateway/proxy/loop_context.h"
#include "gateway/proxy/server_address.h"
#include "gateway/proxy/upstream_conn.h"

namespace sluice::proxy {

class HealthChecker;

class Pool : public std::enable_shared_from_this<Pool> {
  public:
    Pool(LoopContextPtr ctx, std::string name, const UpstreamOptions& cfg);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    const std::string& name() const { return name_; }
    const UpstreamOptions& config() const { return cfg_; }
    size_t server_count() const { return servers_.size(); }
    const std::string& server_name(size_t i) const { return servers_[i].addr.text; }
    // With `tls`: the name server i is checked against (and sent as SNI): the upstream's
    // server_name, else the server's own host.
    const std::string& tls_name(size_t i) const {
        return cfg_.tls && !cfg_.tls->server_name.empty() ? cfg_.tls->server_name : servers_[i].addr.host;
    }
    const LoopContextPtr& context() const { return ctx_; }

    // The next server in round-robin order that is healthy and not marked in `tried`
    // (indexed by server); -1 when there is none.
    int pick(const std::vector<bool>& tried);
    bool server_up(size_t i) const;

    // A connection to server i for `l`: an idle one (*reused = true, ready to send) or a
    // new one (l->on_upstream_connected() follows). nullptr when a connect could not start.
    UpstreamConn* acquire(size_t i, UpstreamConn::Listener* l, uint64_t connect_timeout_ms,
                          bool* reused);
    // A fresh connection for a health check (never pooled; the caller closes it).
    UpstreamConn* open_probe(size_t i, UpstreamConn::Listener* l, uint64_t connect_timeout_ms);
    // Gives a connection back after its response: parked for reuse when `reusable`, the
    // pool is open and the server's idle list has room; else closed.
    void release(UpstreamConn* c, bool reusable);

    void report_failure(size_t i);
    void report_success(size_t i);
    // Active health check results (HealthChecker).
    void set_checked(size_t i, bool healthy);

    // Starts active health checks if the upstream has them.
    void start_health_checks();
    // Stops health checks and pooling; idle connections close, busy ones close when
    // released. Used on reload (a replaced pool) and on shutdown.
    void shutdown();
    size_t open_connections() const { return all_.size(); }

  private:
    friend class UpstreamConn;
    // From the connection once its socket has closed: it is destroyed at the end of the
    // loop turn (never inside its own callback).
    void forget(UpstreamConn* c);
    UpstreamConn* open_connection(size_t i, UpstreamConn::Listener* l, uint64_t connect_timeout_ms);

    struct Server {
        ServerAddress addr;
        uint64_t fails = 0;         // failures in a row
        uint64_t down_until = 0;    // loop time (ms) until which passive health skips it
        bool check_failed = false;  // the last active check failed
        uint64_t retry_resolve_at = 0;
        std::vector<UpstreamConn*> idle;  // most recently used last
    };
    bool ensure_resolved(Server& s);

    LoopContextPtr ctx_;
    std::string name_;
    UpstreamOptions cfg_;
    std::vector<Server> servers_;
    size_t next_ = 0;  // round-robin position
    // Every connection of this pool, idle or busy, until its socket has closed.
    std::unordered_map<UpstreamConn*, std::unique_ptr<UpstreamConn>> all_;
    std::unique_ptr<HealthChecker> checker_;
    bool open_ = true;
};

using PoolPtr = std::shared_ptr<Pool>;

}  // namespace sluice::proxy
