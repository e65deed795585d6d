// The route kinds, registered in one table (route_kinds.cc): for each, the YAML key
// that selects it, the methods it serves and the loader that reads its options. The
// routes loader and its error messages go by this table; README.md says how to add a
// kind. Internal to gateway/config/.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/loaders.h"

namespace sluice::config {

// What a kind's loader may need to know about the route it belongs to.
struct RouteContext {
    const Defaults& defaults;
    const std::map<std::string, proxy::UpstreamOptions>& upstreams;
    bool is_prefix = false;
    bool captures_known = false;  // false when the path itself was bad: skip the check
    std::vector<std::string> captures;
};

struct RouteKindEntry {
    std::string_view key;  // the route's YAML key: sse, poll, ...
    router::RouteKind kind;
    std::vector<std::string> methods;  // served methods; empty = every method
    // Reads the kind's options (the value under `key`) into its member of `out`,
    // reporting every problem to `diag`.
    void (*load)(const Value& v, Diagnostics& diag, const RouteContext& ctx, router::Route& out);
};

std::span<const RouteKindEntry> route_kinds();

// "sse, poll, proxy or static": for messages.
std::string route_kind_names();

}  // namespace sluice::config
