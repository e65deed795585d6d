#include "plugins/rate_limit/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "gateway/core/log.h"

namespace sluice::plugins::rate_limit {
namespace {

// A positive number: YAML gives "10", "0.5", "2.5e3" as scalars.
bool read_rate(config::MapReader& r, std::string_view key, double& out) {
    auto v = r.find(key);
    if (!v) return true;
    const std::string text = v->node.IsScalar() ? v->node.Scalar() : std::string();
    char* end = nullptr;
    double d = text.empty() ? 0 : std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(d) || d <= 0) {
        r.diag().error(v->mark, v->path + ": must be a number above 0 (requests a second, "
                                          "0.5 is one every two seconds); got " +
                                    config::describe(v->node));
        return false;
    }
    out = d;
    return true;
}

std::optional<Options> parse(config::MapReader& r, const config::PluginSite& site) {
    Options o;
    bool ok = true;
    double per_second = 0;
    ok &= read_rate(r, "requests_per_second", per_second);
    uint64_t burst = 0;
    ok &= r.get_count("burst", burst, 1, 1'000'000'000);
    uint64_t streams = 0;
    ok &= r.get_count("max_streams", streams, 1, 1'000'000'000);
    ok &= r.get_count("max_clients", o.max_clients, 1, 100'000'000);
    std::vector<std::string> proxies;
    if (r.get_string_list("trusted_proxies", proxies)) {
        for (const std::string& p : proxies) {
            Cidr c;
            std::string err = parse_cidr(p, c);
            if (!err.empty()) {
                r.diag().error(r.find("trusted_proxies")->mark, r.path("trusted_proxies") + ": " + err);
                ok = false;
                continue;
            }
            o.trusted_proxies.push_back(c);
        }
    } else {
        ok = false;
    }
    if (!ok) return std::nullopt;

    if (r.has("burst") && !r.has("requests_per_second")) {
        r.diag().error(r.key_mark("burst"),
                       r.path("burst") + ": needs requests_per_second (the rate that refills it)");
        return std::nullopt;
    }
    if (r.has("requests_per_second")) {
        // Without a burst, one second's worth of requests (at least one).
        double b = r.has("burst") ? static_cast<double>(burst) : std::max(1.0, std::ceil(per_second));
        o.rate = BucketRate{per_second, b};
    }
    if (r.has("max_streams")) {
        bool streams_route = site.route && (site.route->kind == router::RouteKind::Sse ||
                                            site.route->kind == router::RouteKind::Poll);
        if (!streams_route) {
            r.diag().error(r.key_mark("max_streams"),
                           r.path("max_streams") + ": counts streams, so only sse and poll routes "
                                                   "take it");
            return std::nullopt;
        }
        o.max_streams = streams;
    }
    if (!o.rate && !o.max_streams) {
        r.diag().error(r.mark(), r.where() + ": nothing to limit: give requests_per_second "
                                             "(and burst) and/or max_streams");
        return std::nullopt;
    }
    return o;
}

constexpr const char* kDecisionNames[] = {"allow", "rate_limited", "too_many_streams",
                                           "table_full"};
constexpr const char* kRefusalReasons[] = {"", "rate limit exceeded", "too many open streams",
                                           "rate limit table full"};

}  // namespace

RateLimitFilter::RateLimitFilter(Options o, const BuildContext& ctx)
    : opts_(std::move(o)),
      route_(ctx.route_label),
      table_(opts_.max_clients, opts_.rate.value_or(BucketRate{})) {
    if (!ctx.decisions) return;
    // Taken now, so every series of the route is exported (at 0) from the start.
    for (int r = None; r < kRefusals; ++r)
        counters_[r] = &ctx.decisions->counter("rate_limit", route_, kDecisionNames[r]);
}

void RateLimitFilter::count(Refusal r) {
    if (counters_[r]) counters_[r]->fetch_add(1, std::memory_order_relaxed);
}

void RateLimitFilter::log_refusal(Refusal r, const std::string& key, pipeline::Request& req) {
    uint64_t now = req.now_ms();
    uint64_t last = last_log_ms_.load(std::memory_order_relaxed);
    if (now < last + 1000 ||
        !last_log_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
        unlogged_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    log::info("request refused by a plugin",
              {{"plugin", "rate_limit"},
               {"route", route_},
               {"status", r == TableFull ? 503 : 429},
               {"reason", kRefusalReasons[r]},
               {"client", key_text(key)},
               {"request_id", req.request_id()},
               {"refused_unlogged", unlogged_.exchange(0, std::memory_order_relaxed)}});
}

pipeline::HeadVerdict RateLimitFilter::on_request_head(pipeline::Request& req, pipeline::Resume) {
    std::string key = client_key(req.remote(), req.head(), opts_.trusted_proxies);
    uint64_t now = req.now_ms();
    Refusal refusal = None;
    uint64_t retry_after = 1;
    {
        std::lock_guard lock(mutex_);
        Client* c = table_.find_or_add(key, now);
        if (!c) {
            refusal = TableFull;
        } else if (opts_.max_streams && c->streams >= *opts_.max_streams) {
            refusal = TooManyStreams;
        } else if (Take t = opts_.rate ? take_token(c->bucket, *opts_.rate, now) : Take{true, 0};
                   !t.allowed) {
            refusal = RateLimited;
            retry_after = t.retry_after_s;
        } else if (opts_.max_streams) {
            // Counted until the close hook of this request, exactly once.
            auto [it, added] = streams_.emplace(&req, c);
            if (!added) {
                table_.remove_stream(*it->second);
                it->second = c;
            }
            table_.add_stream(*c);
        }
    }
    count(refusal);
    if (refusal == None) return pipeline::HeadVerdict::Pass;
    log_refusal(refusal, key, req);
    req.respond_error(refusal == TableFull ? 503 : 429, kRefusalReasons[refusal],
                      {{"Retry-After", std::to_string(retry_after)}});
    return pipeline::HeadVerdict::Answered;
}

void RateLimitFilter::on_close(const pipeline::Request& req) {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(&req);
    if (it == streams_.end()) return;  // refused, or stopped by a filter before this one
    table_.remove_stream(*it->second);
    streams_.erase(it);
}

size_t RateLimitFilter::clients() const {
    std::lock_guard lock(mutex_);
    return table_.size();
}

uint64_t RateLimitFilter::streams_of(const std::string& key) const {
    std::lock_guard lock(mutex_);
    const Client* c = table_.find(key);
    return c ? c->streams : 0;
}

PluginDef plugin() {
    return make_plugin<Options>(
        "rate_limit", parse,
        [](const Options& o, const BuildContext& ctx, std::string&) -> std::shared_ptr<pipeline::Filter> {
            return std::make_shared<RateLimitFilter>(o, ctx);
        });
}

}  // namespace sluice::plugins::rate_limit
