// The route table: matches (method, path) against the routes in file order.
// Built once per config (and again on reload); read-only afterwards.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/router/path_template.h"
#include "gateway/router/route.h"

namespace sluice::router {

struct CompiledRoute {
    const Route* route = nullptr;            // points into the routes the table was built from
    std::optional<PathTemplate> path;        // set for path routes
    std::optional<ChannelTemplate> channel;  // set for routes that serve a channel
};

struct Match {
    enum class Kind { Found, MethodNotAllowed, NotFound };
    Kind kind = Kind::NotFound;
    const CompiledRoute* route = nullptr;  // Found and MethodNotAllowed
    size_t index = 0;                      // position in the table (metrics label)
    Captures captures;
    std::string allow;                     // MethodNotAllowed: value for the Allow header
};

class RouteTable {
  public:
    // `routes` must outlive the table. Returns nullopt + error for a bad template
    // (config validation normally catches these first).
    static std::optional<RouteTable> build(const std::vector<Route>& routes, std::string* error);

    // First route whose path matches wins; if its methods exclude `method`, the result
    // is MethodNotAllowed (routes after it are not tried).
    Match match(std::string_view method, std::string_view raw_path) const;

    // The history settings for a concrete channel: those of the first sse route whose
    // channel template fits it, else nullptr (callers then use config defaults).
    const sse::SseRouteOptions* sse_route_for_channel(std::string_view channel) const;

    const std::vector<CompiledRoute>& routes() const { return routes_; }

  private:
    std::vector<CompiledRoute> routes_;
};

}  // namespace sluice::router
