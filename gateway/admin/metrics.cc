#include "gateway/admin/metrics.h"

#include <cstdio>

namespace sluice::admin {

void RouteStats::record(std::string_view route, int status, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = routes_.find(route);
    if (it == routes_.end()) it = routes_.emplace(std::string(route), Entry{}).first;
    Entry& e = it->second;
    ++e.by_status[status];
    size_t i = 0;
    while (i < kBucketCount && seconds > kBuckets[i]) ++i;
    ++e.latency.buckets[i];
    e.latency.sum += seconds;
    ++e.latency.count;
}

void RouteStats::snapshot(std::map<std::pair<std::string, int>, uint64_t>& requests,
                          std::map<std::string, Latency>& latency) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [route, e] : routes_) {
        for (const auto& [status, n] : e.by_status) requests[{route, status}] += n;
        Latency& out = latency[route];
        for (size_t i = 0; i <= kBucketCount; ++i) out.buckets[i] += e.latency.buckets[i];
        out.sum += e.latency.sum;
        out.count += e.latency.count;
    }
}

void UpstreamStats::count(const std::string& upstream, const std::string& series) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_[{upstream, series}];
}

void UpstreamStats::snapshot(std::map<std::pair<std::string, std::string>, uint64_t>& out) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [k, v] : counts_) out[k] += v;
}

size_t TlsStats::version_index(std::string_view version) {
    for (size_t i = 0; i < kVersions.size(); ++i)
        if (kVersions[i] == version) return i;
    return kVersions.size() - 1;  // OpenSSL is set to TLS 1.2 and 1.3 only
}

size_t TlsStats::failure_index(std::string_view reason) {
    for (size_t i = 0; i < kFailureReasons.size(); ++i)
        if (kFailureReasons[i] == reason) return i;
    return failure_index("other");
}

size_t H2Stats::reset_index(std::string_view reason) {
    for (size_t i = 0; i < kResetReasons.size(); ++i)
        if (kResetReasons[i] == reason) return i;
    return reset_index("error");
}

size_t H2Stats::goaway_index(std::string_view reason) {
    for (size_t i = 0; i < kGoawayReasons.size(); ++i)
        if (kGoawayReasons[i] == reason) return i;
    return goaway_index("protocol");
}

}  // namespace sluice::admin
