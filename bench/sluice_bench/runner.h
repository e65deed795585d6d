// One benchmark run from start to report: owns the loop, the subscriber pool, the publisher
// and the timeline — ramp; publishing once the subscribers have settled (at the latest half-way
// through the publish window) until --duration minus --drain; the optional reconnect storm;
// the end at --duration, at SIGINT/SIGTERM, or earlier once every event has arrived.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "bench/sluice_bench/options.h"
#include "bench/sluice_bench/publisher.h"
#include "bench/sluice_bench/report.h"
#include "bench/sluice_bench/subscriber.h"

namespace sluice::bench {

class Runner {
public:
    Runner(const Options& opt, uint64_t nofile_limit);
    ~Runner();
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // Runs the loop until the run ends and every handle is closed, then returns the results.
    Report run();

private:
    static void check_cb(uv_timer_t* t) noexcept;
    static void end_cb(uv_timer_t* t) noexcept;
    static void storm_cb(uv_timer_t* t) noexcept;
    static void signal_cb(uv_signal_t* s, int signum) noexcept;

    void check();
    void finish(bool interrupted);
    double elapsed_s() const;

    const Options& opt_;
    uint64_t nofile_limit_;
    std::string run_id_;
    uv_loop_t loop_{};
    uv_timer_t check_timer_{};
    uv_timer_t end_timer_{};
    uv_timer_t storm_timer_{};
    uv_signal_t sigint_{};
    uv_signal_t sigterm_{};
    PublishLedger ledger_;
    std::unique_ptr<SubscriberPool> pool_;
    std::unique_ptr<Publisher> publisher_;
    uint64_t start_ms_ = 0;
    int64_t start_unix_ms_ = 0;
    double settled_s_ = -1;
    double elapsed_at_end_s_ = 0;
    bool storm_pending_ = false;
    bool finished_ = false;
    bool interrupted_ = false;
};

}  // namespace sluice::bench
