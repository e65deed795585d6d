// What the broker counts. The broker only adds to these; admin/ reads them for
// /_sluice/metrics (the sluice_broker_* series in docs/operations.md).
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice::broker {

// A counter several threads add to (broker events are counted on the main thread's
// feed and on workers).
class SharedCell {
  public:
    void add(int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
    void set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
    int64_t get() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<int64_t> v_{0};
};

struct BrokerCounters {
    SharedCell reconnects;
    SharedCell subscriptions;         // patterns subscribed
    SharedCell messages_plain;        // received from Redis PUBLISH
    SharedCell messages_sequenced;    // received from sluice_publish
    SharedCell dropped_too_large;
    SharedCell dropped_invalid_utf8;
    SharedCell dropped_nul;
    SharedCell dropped_bad_envelope;
    SharedCell dropped_bad_event_name;
    SharedCell recovered;             // events read back from Redis history
    SharedCell publish_errors;
};

}  // namespace sluice::broker
