#include "plugins/forward_auth/forward_auth.h"

#include <algorithm>
#include <atomic>

#include "gateway/core/ascii.h"
#include "gateway/core/log.h"
#include "gateway/proxy/loop_proxy.h"

namespace sluice::plugins::forward_auth {

struct ForwardAuthFilter::Shared {
    Options opts;
    CheckCache cache;
    std::string route;
    // sluice_plugin_decisions_total{plugin="forward_auth",route,decision}; nullptr: not counted.
    std::atomic<uint64_t>* allow = nullptr;
    std::atomic<uint64_t>* unauthenticated = nullptr;
    std::atomic<uint64_t>* forbidden = nullptr;
    std::atomic<uint64_t>* denied = nullptr;
    std::atomic<uint64_t>* error = nullptr;

    Shared(Options o, const BuildContext& ctx)
        : opts(std::move(o)), cache(opts.cache, opts.cache_size), route(ctx.route_label) {
        if (!ctx.decisions) return;
        // Taken now, so every series of the route is exported (at 0) from the start.
        auto counter = [&](std::string_view d) {
            return &ctx.decisions->counter("forward_auth", route, d);
        };
        allow = counter("allow");
        unauthenticated = counter("unauthenticated");
        forbidden = counter("forbidden");
        denied = counter("denied");
        error = counter("error");
    }

    void count(const Verdict& v) const {
        std::atomic<uint64_t>* c = v.kind == Verdict::Kind::Allow   ? allow
                                   : v.kind == Verdict::Kind::Error ? error
                                   : v.status == 401                ? unauthenticated
                                   : v.status == 403                ? forbidden
                                                                    : denied;
        if (c) c->fetch_add(1, std::memory_order_relaxed);
    }

    // Applies a verdict to a request on its loop: Pass (the copy_headers set on it) or
    // Answered (refused, logged).
    pipeline::HeadVerdict apply(pipeline::Request& req, const Verdict& v) const {
        count(v);
        if (v.kind == Verdict::Kind::Allow) {
            // Request hands filters a const head; it is the carrier's own parsed head,
            // which the proxy reads after the filters (as jwt's forward_claims does).
            auto& head = const_cast<http::RequestHead&>(req.head());
            for (const std::string& name : opts.copy_headers) {
                std::erase_if(head.headers,
                              [&](const http::Header& h) { return ascii_iequals(h.name, name); });
            }
            for (const auto& [name, value] : v.headers) head.headers.push_back({name, value});
            return pipeline::HeadVerdict::Pass;
        }
        log::Fields fields{{"plugin", "forward_auth"},   {"route", route},
                           {"status", v.status},         {"reason", v.reason},
                           {"upstream", opts.upstream},  {"remote", req.remote()},
                           {"request_id", req.request_id()}};
        if (v.kind == Verdict::Kind::Error) {
            log::warn("request refused by a plugin", fields);
            req.respond_error(v.status, v.reason);
        } else {
            log::info("request refused by a plugin", fields);
            if (v.has_body) req.respond(v.status, v.body, v.content_type, v.headers);
            else req.respond_error(v.status, v.reason, v.headers);
        }
        return pipeline::HeadVerdict::Answered;
    }
};

namespace {

uint64_t monotonic_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

void append_headers(const http::RequestHead& from, const std::vector<std::string>& names,
                    std::vector<http::Header>& out) {
    for (const std::string& name : names) {
        for (const http::Header& h : from.headers)
            if (ascii_iequals(h.name, name)) out.push_back({name, h.value});
    }
}

// Starts the check on this loop; its verdict goes to every waiter of `key`.
void run_check(proxy::LoopProxy& lp, const std::shared_ptr<ForwardAuthFilter::Shared>& shared,
               const std::string& key, pipeline::Request& req) {
    const Options& o = shared->opts;
    proxy::PoolPtr pool = lp.pool(o.upstream);
    if (!pool) {  // a reload removed the upstream while this route's chain still runs
        Verdict v;
        v.reason = "auth service: upstream '" + o.upstream + "' is not configured";
        shared->cache.complete(key, std::make_shared<const Verdict>(std::move(v)), monotonic_ms());
        return;
    }
    uint64_t timeout = static_cast<uint64_t>(o.timeout.count());
    proxy::SubrequestSettings s;
    s.deadline_ms = timeout;
    s.max_body = kMaxBody + 1;  // one more: a longer body is known to be cut
    s.exchange.client_address = req.remote();
    s.exchange.request_id = req.request_id();
    s.exchange.client_secure = req.secure();
    s.exchange.host_mode = proxy::HostMode::Rewrite;  // the original Host: X-Forwarded-Host
    s.exchange.connect_timeout_ms =
        std::min(timeout, static_cast<uint64_t>(pool->config().connect_timeout.count()));
    s.exchange.read_timeout_ms = timeout;
    s.exchange.client_timeout_ms = timeout;
    s.exchange.pool = std::move(pool);
    lp.subrequest(check_head(req.head(), o), std::move(s),
                  [shared, key](proxy::SubrequestAnswer a) {
                      auto v = std::make_shared<const Verdict>(verdict_of(a, shared->opts.copy_headers));
                      shared->cache.complete(key, std::move(v), monotonic_ms());
                  });
}

}  // namespace

std::string credential_key(const http::RequestHead& head, const Options& o) {
    std::string key;
    auto add = [&](const std::vector<std::string>& names) {
        for (const std::string& name : names) {
            for (const http::Header& h : head.headers) {
                if (!ascii_iequals(h.name, name)) continue;
                // Lengths first: no two different header sets give the same key.
                key += std::to_string(name.size()) + ':' + ascii_lowercase(name) +
                       std::to_string(h.value.size()) + ':' + h.value;
            }
            key += ';';
        }
    };
    add(default_request_headers());
    add(o.request_headers);
    return key;
}

http::RequestHead check_head(const http::RequestHead& req, const Options& o) {
    http::RequestHead h;
    h.method = "GET";
    h.target = o.path;
    size_t q = o.path.find('?');
    h.path = o.path.substr(0, q);
    h.query = q == std::string::npos ? "" : o.path.substr(q + 1);
    append_headers(req, default_request_headers(), h.headers);
    append_headers(req, o.request_headers, h.headers);
    h.headers.push_back({"X-Forwarded-Method", req.method});
    h.headers.push_back({"X-Forwarded-Uri", req.target});
    // The proxy appends the client's address to the chain it came with, and names the
    // original Host in X-Forwarded-Host.
    append_headers(req, {"X-Forwarded-For", "Host"}, h.headers);
    return h;
}

ForwardAuthFilter::ForwardAuthFilter(Options o, const BuildContext& ctx)
    : shared_(std::make_shared<Shared>(std::move(o), ctx)) {}

pipeline::HeadVerdict ForwardAuthFilter::on_request_head(pipeline::Request& req,
                                                         pipeline::Resume resume) {
    proxy::LoopProxy* lp = proxy::LoopProxy::current();
    if (!lp) {  // not on a worker loop: nothing to send the check with
        Verdict v;
        v.reason = "auth service: no upstream pools on this thread";
        return shared_->apply(req, v);
    }
    std::string key = credential_key(req.head(), shared_->opts);
    // Each waiting request is resumed on its own loop, whichever loop ran the check; the
    // post is dropped if that loop has finished, and a request whose client left
    // meanwhile is skipped.
    CheckCache::Waiter waiter = [loop = lp->context()->dispatcher->post_handle(), shared = shared_,
                                 alive = req.alive(), r = &req,
                                 resume](const CheckCache::VerdictPtr& v) {
        loop.post([shared, alive, r, resume, v]() mutable {
            if (!alive) return;
            if (shared->apply(*r, *v) == pipeline::HeadVerdict::Pass) resume();
        });
    };
    CheckCache::Found found = shared_->cache.find_or_wait(key, monotonic_ms(), std::move(waiter));
    switch (found.role) {
    case CheckCache::Role::Cached: return shared_->apply(req, *found.verdict);
    case CheckCache::Role::Joined: return pipeline::HeadVerdict::Suspended;
    case CheckCache::Role::Lead: break;
    }
    run_check(*lp, shared_, key, req);
    return pipeline::HeadVerdict::Suspended;
}

PluginDef plugin() {
    PluginDef def = make_plugin<Options>(
        "forward_auth", parse_options,
        [](const Options& o, const BuildContext& ctx, std::string&) -> std::shared_ptr<pipeline::Filter> {
            return std::make_shared<ForwardAuthFilter>(o, ctx);
        });
    def.authenticates = true;
    return def;
}

}  // namespace sluice::plugins::forward_auth
