// Everything the proxy keeps per worker loop: one Pool per configured upstream and the
// request-id generator. Pools follow the config: sync() with a newer config adds pools
// for new upstreams, replaces changed ones (the old pool closes its idle connections and
// lives on only until its busy ones finish) and shuts removed ones down.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "gateway/proxy/options.h"
#include "gateway/proxy/loop_context.h"
#include "gateway/proxy/pool.h"
#include "gateway/proxy/request_id.h"
#include "gateway/proxy/subrequest.h"

namespace sluice::proxy {

// Same servers and settings: a reload keeps the pool (its connections and health state).
bool same_upstream(const UpstreamOptions& a, const UpstreamOptions& b);

class LoopProxy {
  public:
    explicit LoopProxy(LoopContextPtr ctx);
    ~LoopProxy();  // shuts every pool down
    LoopProxy(const LoopProxy&) = delete;
    LoopProxy& operator=(const LoopProxy&) = delete;

    // Applies a config; a generation at or below the last one applied is ignored, so a
    // request still running on an older config does not undo a reload.
    void sync(const std::map<std::string, UpstreamOptions>& upstreams, uint64_t generation);
    PoolPtr pool(const std::string& name) const;

    // The LoopProxy of the worker loop running on this thread (nullptr elsewhere): how a
    // plugin's filter, which serves every loop, finds the pools of the loop it runs on.
    static LoopProxy* current();
    static void set_current(LoopProxy* lp);

    // Sends sluice's own request `head` through `settings.exchange.pool` (Subrequest);
    // `done` runs later on this loop, exactly once, never inside this call.
    void subrequest(http::RequestHead head, SubrequestSettings settings, SubrequestDone done);
    // Ends the subrequests still running with 503: the loop is about to stop, and with it
    // the timers that would end a hung one (Worker::maybe_finish, and the destructor).
    void cancel_subrequests();

    // Stops health checks and pooling everywhere (worker shutdown). Pools stay usable for
    // requests already under way; their connections close after use.
    void shutdown();
    bool is_shut_down() const { return !open_; }

    const LoopContextPtr& context() const { return ctx_; }
    RequestIdGenerator& ids() { return ids_; }

  private:
    LoopContextPtr ctx_;
    std::map<std::string, PoolPtr> pools_;
    uint64_t generation_ = 0;
    bool synced_ = false;
    bool open_ = true;
    RequestIdGenerator ids_;
    std::unordered_map<Subrequest*, std::unique_ptr<Subrequest>> subrequests_;
};

}  // namespace sluice::proxy
