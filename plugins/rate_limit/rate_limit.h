// rate_limit: per client address (or, behind trusted proxies, per X-Forwarded-For
// client), a token bucket on requests (requests_per_second, burst) and a cap on the
// streams open at once (max_streams: sse routes and held polls). Over either limit the
// client gets 429 with Retry-After. The clients are held in a table of fixed size
// (max_clients, client_table.h says which one is forgotten when it is full).
//
// One filter serves every worker thread: its table sits behind one mutex, held only for
// a lookup and a few arithmetic steps per request.
//
// Each decision is counted in sluice_plugin_decisions_total{plugin="rate_limit"}: allow,
// rate_limited and too_many_streams (429), table_full (503). Refusals are logged, at most
// one line a second per filter with how many were refused since the last line: a client
// over its limit sends on, and a log line per refusal would let it flood the log.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "plugins/rate_limit/client_address.h"
#include "plugins/rate_limit/client_table.h"
#include "plugins/registry.h"

namespace sluice::plugins::rate_limit {

struct Options {
    std::optional<BucketRate> rate;         // unset: no request-rate limit
    std::optional<uint64_t> max_streams;    // unset: no stream cap
    std::vector<Cidr> trusted_proxies;
    uint64_t max_clients = 100'000;
};

class RateLimitFilter final : public pipeline::Filter {
  public:
    explicit RateLimitFilter(Options o, const BuildContext& ctx = {});
    std::string_view name() const override { return "rate_limit"; }
    unsigned hooks() const override {
        return opts_.max_streams ? (OnRequestHead | OnClose) : OnRequestHead;
    }
    pipeline::HeadVerdict on_request_head(pipeline::Request& req, pipeline::Resume) override;
    void on_close(const pipeline::Request& req) override;

    // For tests: the clients held, and one client's open streams.
    size_t clients() const;
    uint64_t streams_of(const std::string& key) const;

  private:
    enum Refusal { None, RateLimited, TooManyStreams, TableFull, kRefusals };
    void count(Refusal r);
    void log_refusal(Refusal r, const std::string& key, pipeline::Request& req);

    Options opts_;
    std::string route_;
    std::atomic<uint64_t>* counters_[kRefusals] = {};  // by Refusal (None: allowed)
    std::atomic<uint64_t> last_log_ms_{0};
    std::atomic<uint64_t> unlogged_{0};  // refusals since the last log line
    mutable std::mutex mutex_;
    ClientTable table_;
    // The requests counted as open streams, each once, until their close hook.
    std::unordered_map<const pipeline::Request*, Client*> streams_;
};

PluginDef plugin();

}  // namespace sluice::plugins::rate_limit
