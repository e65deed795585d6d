// The paths sluice answers itself, before any route: the admin endpoints
// (docs/operations.md) and the default publish path (docs/publishing.md). Named here
// only; dispatch, the admin handler and the config default read them from this table.
#pragma once

#include <string_view>

namespace sluice::admin {

enum class Endpoint { None, Health, Ready, Metrics };

struct EndpointPath {
    Endpoint endpoint;
    std::string_view path;
};

inline constexpr EndpointPath kEndpoints[] = {
    {Endpoint::Health, "/_sluice/health"},
    {Endpoint::Ready, "/_sluice/ready"},
    {Endpoint::Metrics, "/_sluice/metrics"},
};

inline constexpr std::string_view kDefaultPublishPath = "/_sluice/publish/{channel}";

// Which admin endpoint a request path names (exact match), or Endpoint::None.
inline Endpoint endpoint_for(std::string_view path) {
    for (const auto& e : kEndpoints) {
        if (e.path == path) return e.endpoint;
    }
    return Endpoint::None;
}

}  // namespace sluice::admin
