// X-Request-Id values for requests that arrive without one: 32 lowercase hex digits from
// a per-loop generator (random seed, no locking; ids only need to be unique enough to
// correlate log lines, not unguessable).
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace sluice::proxy {

class RequestIdGenerator {
  public:
    RequestIdGenerator();
    std::string next();

  private:
    std::mt19937_64 rng_;
};

}  // namespace sluice::proxy
