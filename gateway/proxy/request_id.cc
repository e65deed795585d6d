#include "gateway/proxy/request_id.h"

#include <cstdio>

namespace sluice::proxy {

RequestIdGenerator::RequestIdGenerator() {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    rng_.seed(seq);
}

std::string RequestIdGenerator::next() {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng_()),
                  static_cast<unsigned long long>(rng_()));
    return std::string(buf, 32);
}

}  // namespace sluice::proxy
