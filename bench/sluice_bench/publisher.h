// The publishing side of a run: a schedule that hands out --events events at --rate per
// second, round-robin over the channels, each with the next per-channel sequence number and
// the send time, until the count is reached or stop() is called. Transports (HTTP POST,
// Redis PUBLISH / FCALL) derive from it and only move bytes. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/sluice_bench/options.h"
#include "bench/sluice_bench/report.h"

namespace sluice::bench {

// Highest sequence number handed to the transport, per channel. Subscribers read it to know
// what they should have received.
struct PublishLedger {
    std::vector<uint64_t> last_seq;
};

class Publisher {
public:
    Publisher(uv_loop_t* loop, const Options& opt, PublishLedger& ledger, std::string run_id);
    virtual ~Publisher() = default;
    Publisher(const Publisher&) = delete;
    Publisher& operator=(const Publisher&) = delete;

    void start();  // connects and begins the schedule now
    void stop();   // hands out no more events; answers still in flight are counted
    void close();  // stop() and close every handle (the loop then runs the close callbacks)

    bool started() const { return started_; }
    uint64_t start_ms() const { return start_ms_; }  // loop time of start()
    uint64_t end_ms() const { return end_ms_; }      // loop time the schedule stopped, or 0
    // The schedule is over (count reached or stopped) and every event has been answered.
    bool finished() const;
    PublisherResults results() const;

protected:
    // Transport hooks.
    virtual void open() = 0;                    // connect; called by start()
    virtual bool can_accept() const = 0;        // false while too much is queued
    // Queue one event: its channel, per-channel sequence number and payload.
    virtual void submit(uint32_t ch, uint64_t seq, std::string_view payload) = 0;
    virtual void flush() = 0;                   // write what submit() queued
    virtual uint64_t unanswered() const = 0;    // submitted, not yet acked or failed
    virtual void close_transport() = 0;

    // For the transports: outcome of each submitted event.
    void on_acked(uint64_t n = 1) { acked_ += n; }
    void on_error(std::string_view what, uint64_t n = 1);

    uv_loop_t* loop_;
    const Options& opt_;

private:
    static void tick_cb(uv_timer_t* t) noexcept;
    void tick();

    PublishLedger& ledger_;
    std::string run_id_;
    uv_timer_t timer_{};
    bool timer_open_ = false;
    bool started_ = false;
    bool stopped_ = false;
    uint64_t start_ms_ = 0;
    uint64_t end_ms_ = 0;
    uint64_t submitted_ = 0;
    uint64_t acked_ = 0;
    uint64_t errors_ = 0;
    std::string first_error_;
    std::string payload_;  // reused buffer
};

std::unique_ptr<Publisher> make_publisher(uv_loop_t* loop, const Options& opt,
                                          PublishLedger& ledger, const std::string& run_id);

}  // namespace sluice::bench
