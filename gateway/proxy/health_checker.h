// Active health checks of one upstream on one loop: every `interval`, each server gets
// "GET <path>" on a fresh connection; a 2xx or 3xx answer within `timeout` marks it
// healthy, anything else (refused, reset, timeout, other status) unhealthy. Owned by its
// Pool; destroying it cancels the timers and closes any probe in flight.
#pragma once

#include <memory>
#include <vector>

#include "gateway/proxy/options.h"
#include "gateway/core/timer_wheel.h"
#include "gateway/proxy/upstream_conn.h"

namespace sluice::proxy {

class Pool;

class HealthChecker {
  public:
    HealthChecker(Pool& pool, const HealthCheckOptions& cfg);
    ~HealthChecker();
    HealthChecker(const HealthChecker&) = delete;
    HealthChecker& operator=(const HealthChecker&) = delete;

    void start();  // the first round runs at once

  private:
    class Probe;
    Pool& pool_;
    HealthCheckOptions cfg_;
    std::vector<std::unique_ptr<Probe>> probes_;
};

}  // namespace sluice::proxy
