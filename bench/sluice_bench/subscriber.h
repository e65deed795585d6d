// The subscribing side of a run: --connections SSE streams opened at --ramp per second,
// spread over the source addresses, each with its own response and event-stream parser and
// a per-channel SeqTracker. Streams the server closes are resumed with Last-Event-ID after
// the stream's retry: time; storm() drops every open stream and resumes all at once.
// Owns every connection for the whole run. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "bench/sluice_bench/options.h"
#include "bench/sluice_bench/publisher.h"
#include "bench/sluice_bench/report.h"
#include "bench/sluice_bench/h2_client.h"
#include "bench/sluice_bench/stream_client.h"
#include "bench/sluice_bench/tls_client.h"

namespace sluice::bench {

class SubscriberPool {
public:
    SubscriberPool(uv_loop_t* loop, const Options& opt, const PublishLedger& ledger,
                   std::string run_id);
    ~SubscriberPool();
    SubscriberPool(const SubscriberPool&) = delete;
    SubscriberPool& operator=(const SubscriberPool&) = delete;

    void start();  // begins the ramp

    // Every connection has been attempted and none is still waiting for its response head.
    bool settled() const;

    // Every open stream has received everything the ledger says was published on its channel,
    // and no reconnect is pending.
    bool caught_up() const;

    // Every open stream drops its connection and reconnects at once with Last-Event-ID.
    void storm();

    // No more connects or reconnects; closes every handle. The loop then runs the callbacks.
    void close();

    // Counters, histograms and the lost count (computed against the ledger); after close().
    SubscriberResults results() const;

private:
    class Conn;
    friend class Conn;

    // Connection `index`'s own TCP (and TLS) client, or its stream on a shared HTTP/2
    // connection.
    std::unique_ptr<StreamClient> make_client(uint32_t index, ClientListener& listener);
    static void tick_cb(uv_timer_t* t) noexcept;
    void tick();
    void schedule_reconnect(uint32_t index, uint64_t delay_ms);
    void note_error(uint32_t index, const std::string& what);

    uv_loop_t* loop_;
    const Options& opt_;
    const PublishLedger& ledger_;
    std::string run_id_;
    sockaddr_storage dest_{};
    std::unique_ptr<TlsClientContext> tls_;  // https:// targets
    std::vector<std::unique_ptr<H2Connection>> h2_;  // --h2-streams: the shared connections
    uv_timer_t timer_{};
    bool timer_open_ = false;
    std::vector<std::unique_ptr<Conn>> conns_;
    uint32_t started_ = 0;      // connections opened by the ramp so far
    uint32_t in_progress_ = 0;  // attempts waiting for their response head
    uint32_t dropping_ = 0;     // storm drops whose close callback has not run yet
    uint64_t start_ms_ = 0;
    bool closing_ = false;
    // (due time in loop ms, connection index), earliest first.
    std::priority_queue<std::pair<uint64_t, uint32_t>, std::vector<std::pair<uint64_t, uint32_t>>,
                        std::greater<>>
        reconnects_;
    uint64_t storm_start_ns_ = 0;  // uv_hrtime
    SubscriberResults stats_;
};

}  // namespace sluice::bench
