#include "gateway/proxy/loop_proxy.h"

#include "gateway/tls/client_context.h"

namespace sluice::proxy {

bool same_upstream(const UpstreamOptions& a, const UpstreamOptions& b) {
    auto same_check = [](const auto& x, const auto& y) {
        if (bool(x) != bool(y)) return false;
        return !x || (x->path == y->path && x->interval == y->interval && x->timeout == y->timeout);
    };
    auto same_tls = [](const auto& x, const auto& y) {
        if (bool(x) != bool(y)) return false;
        return !x || (x->server_name == y->server_name && x->context && y->context &&
                      x->context->same_as(*y->context));
    };
    return a.servers == b.servers && same_tls(a.tls, b.tls) && a.connect_timeout == b.connect_timeout &&
           a.read_timeout == b.read_timeout && a.idle_timeout == b.idle_timeout &&
           a.max_idle == b.max_idle && a.max_fails == b.max_fails &&
           a.fail_timeout == b.fail_timeout && same_check(a.health_check, b.health_check);
}

LoopProxy::LoopProxy(LoopContextPtr ctx) : ctx_(std::move(ctx)) {}

LoopProxy::~LoopProxy() {
    shutdown();
    cancel_subrequests();
}

void LoopProxy::sync(const std::map<std::string, UpstreamOptions>& upstreams,
                     uint64_t generation) {
    if (!open_ || (synced_ && generation <= generation_)) return;
    synced_ = true;
    generation_ = generation;
    for (auto it = pools_.begin(); it != pools_.end();) {
        auto found = upstreams.find(it->first);
        if (found != upstreams.end() && same_upstream(found->second, it->second->config())) {
            ++it;
            continue;
        }
        it->second->shutdown();
        it = pools_.erase(it);
    }
    for (const auto& [name, cfg] : upstreams) {
        if (pools_.count(name)) continue;
        auto pool = std::make_shared<Pool>(ctx_, name, cfg);
        pool->start_health_checks();
        pools_.emplace(name, std::move(pool));
    }
}

PoolPtr LoopProxy::pool(const std::string& name) const {
    auto it = pools_.find(name);
    return it == pools_.end() ? nullptr : it->second;
}

namespace {
thread_local LoopProxy* this_thread_proxy = nullptr;
}

LoopProxy* LoopProxy::current() { return this_thread_proxy; }
void LoopProxy::set_current(LoopProxy* lp) { this_thread_proxy = lp; }

void LoopProxy::subrequest(http::RequestHead head, SubrequestSettings settings,
                           SubrequestDone done) {
    loop::Dispatcher& d = *ctx_->dispatcher;
    auto owned = std::make_unique<Subrequest>(
        std::move(head), std::move(settings), [this, &d, done = std::move(done)](Subrequest& s) {
            auto it = subrequests_.find(&s);
            if (it == subrequests_.end()) return;
            d.defer([done, a = s.take_answer()]() mutable { done(std::move(a)); });
            d.defer_delete(std::move(it->second));  // we may be inside its exchange's call
            subrequests_.erase(it);
        });
    Subrequest* s = owned.get();
    subrequests_.emplace(s, std::move(owned));
    s->start();
}

void LoopProxy::shutdown() {
    open_ = false;
    for (auto& [name, pool] : pools_) pool->shutdown();
}

void LoopProxy::cancel_subrequests() {
    std::vector<Subrequest*> running;
    for (const auto& entry : subrequests_) running.push_back(entry.first);
    for (Subrequest* s : running) s->cancel(503, "sluice is shutting down");
}

}  // namespace sluice::proxy
