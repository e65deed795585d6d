// Pool: server choice and connection reuse for one upstream on one loop. Nothing here is
// shared with other loops: each worker has its own view of server health, as nginx
// workers do.
#include "gateway/proxy/pool.h"

#include <algorithm>

#include "gateway/core/log.h"
#include "gateway/proxy/health_checker.h"

namespace sluice::proxy {

namespace {
// A name that did not resolve is looked up again at most this often (the lookup blocks).
constexpr uint64_t kResolveRetryMs = 10000;
}  // namespace

Pool::Pool(LoopContextPtr ctx, std::string name, const UpstreamOptions& cfg)
    : ctx_(std::move(ctx)), name_(std::move(name)), cfg_(cfg) {
    for (const std::string& text : cfg_.servers) {
        Server s;
        if (auto parsed = parse_server_address(text)) s.addr = std::move(*parsed);
        else s.addr.text = text;
        servers_.push_back(std::move(s));
    }
}

Pool::~Pool() = default;

bool Pool::ensure_resolved(Server& s) {
    if (s.addr.resolved) return true;
    if (s.addr.host.empty()) return false;  // unreadable (the config check prevents this)
    uint64_t now = ctx_->now_ms();
    if (now < s.retry_resolve_at) return false;
    if (resolve(s.addr)) return true;
    s.retry_resolve_at = now + kResolveRetryMs;
    log::warn("cannot resolve upstream server", {{"upstream", name_}, {"server", s.addr.text}});
    return false;
}

bool Pool::server_up(size_t i) const {
    const Server& s = servers_[i];
    return !s.check_failed && s.down_until <= ctx_->now_ms();
}

int Pool::pick(const std::vector<bool>& tried) {
    size_t n = servers_.size();
    for (size_t k = 0; k < n; ++k) {
        size_t i = (next_ + k) % n;
        if ((i < tried.size() && tried[i]) || !server_up(i)) continue;
        if (!ensure_resolved(servers_[i])) continue;
        next_ = (i + 1) % n;
        return static_cast<int>(i);
    }
    return -1;
}

UpstreamConn* Pool::acquire(size_t i, UpstreamConn::Listener* l, uint64_t connect_timeout_ms,
                            bool* reused) {
    Server& s = servers_[i];
    while (!s.idle.empty()) {
        UpstreamConn* c = s.idle.back();
        s.idle.pop_back();
        if (c->closing()) continue;
        c->set_listener(l);
        *reused = true;
        return c;
    }
    *reused = false;
    return open_connection(i, l, connect_timeout_ms);
}

UpstreamConn* Pool::open_probe(size_t i, UpstreamConn::Listener* l, uint64_t connect_timeout_ms) {
    if (!ensure_resolved(servers_[i])) return nullptr;
    return open_connection(i, l, connect_timeout_ms);
}

UpstreamConn* Pool::open_connection(size_t i, UpstreamConn::Listener* l, uint64_t connect_timeout_ms) {
    auto owned = std::make_unique<UpstreamConn>(ctx_, shared_from_this(), i);
    UpstreamConn* c = owned.get();
    all_.emplace(c, std::move(owned));
    c->set_listener(l);
    if (!c->connect(reinterpret_cast<const sockaddr*>(&servers_[i].addr.addr), connect_timeout_ms)) {
        return nullptr;  // closing; forget() runs once its socket has closed
    }
    return c;
}

void Pool::release(UpstreamConn* c, bool reusable) {
    Server& s = servers_[c->server()];
    if (!reusable || !open_ || c->closing() || s.idle.size() >= cfg_.max_idle) {
        c->close();
        return;
    }
    c->park(static_cast<uint64_t>(cfg_.idle_timeout.count()));
    s.idle.push_back(c);
}

void Pool::forget(UpstreamConn* c) {
    Server& s = servers_[c->server()];
    s.idle.erase(std::remove(s.idle.begin(), s.idle.end(), c), s.idle.end());
    auto it = all_.find(c);
    if (it == all_.end()) return;
    std::unique_ptr<UpstreamConn> owned = std::move(it->second);
    all_.erase(it);
    ctx_->dispatcher->defer_delete(std::move(owned));
}

void Pool::report_failure(size_t i) {
    // A lone server is never taken out (as in nginx): with nothing to fail over to, a
    // time-out would only turn the next requests into 502s after the server is back.
    if (cfg_.max_fails == 0 || servers_.size() == 1) return;
    Server& s = servers_[i];
    if (++s.fails < cfg_.max_fails) return;
    s.fails = 0;
    s.down_until = ctx_->now_ms() + static_cast<uint64_t>(cfg_.fail_timeout.count());
    log::warn(
        "upstream server marked down",
        {{"upstream", name_}, {"server", s.addr.text}, {"for_ms", cfg_.fail_timeout.count()}});
}

void Pool::report_success(size_t i) { servers_[i].fails = 0; }

void Pool::set_checked(size_t i, bool healthy) {
    Server& s = servers_[i];
    if (healthy) {  // an answered check overrides passive marking
        s.down_until = 0;
        s.fails = 0;
    }
    if (healthy == !s.check_failed) return;
    s.check_failed = !healthy;
    log::info(healthy ? "upstream server healthy" : "upstream server failed its health check",
              {{"upstream", name_}, {"server", s.addr.text}});
}

void Pool::start_health_checks() {
    if (!cfg_.health_check || checker_ || !open_) return;
    checker_ = std::make_unique<HealthChecker>(*this, *cfg_.health_check);
    checker_->start();
}

void Pool::shutdown() {
    if (!open_) return;
    open_ = false;
    checker_.reset();  // closes a probe in flight
    for (Server& s : servers_) {
        std::vector<UpstreamConn*> idle;
        idle.swap(s.idle);
        for (UpstreamConn* c : idle) c->close();
    }
}

}  // namespace sluice::proxy
