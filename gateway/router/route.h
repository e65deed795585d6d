// A route: what it matches (a path template or a literal prefix, and the methods it
// allows) and the one handler that serves it, with that handler's options (each
// module's own type). config/route_kinds.cc builds these from YAML; the route table
// matches requests against them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/files/static_options.h"
#include "gateway/proxy/options.h"
#include "gateway/sse/route_options.h"

namespace sluice::router {

// One item of a `plugins:` list (a route's, or the publish endpoint's) as the config
// loader validated it: the plugin's name and its options, parsed into the plugin's own
// type (plugins/registry.h) and opaque here. app/runtime builds the filter from both.
struct PluginUse {
    std::string name;
    std::shared_ptr<const void> options;
    int line = 0;  // 1-based line of the item, for messages
    bool external = false;  // a third-party plugin (a .so from plugins_dir), not a built-in
};

// Which handler serves a route; exactly the handler options below that match it are set.
enum class RouteKind { Sse, Poll, Proxy, Static };

struct Route {
    // Exactly one of path / prefix is set.
    std::string path;    // template: literal segments and {name} captures
    std::string prefix;  // literal prefix match
    RouteKind kind = RouteKind::Sse;
    // Methods the handler serves; empty = every method. Another method gets a 405 (the
    // routes after this one are not tried).
    std::vector<std::string> methods;
    std::optional<sse::SseRouteOptions> sse;
    std::optional<sse::PollRouteOptions> poll;
    std::optional<proxy::RouteOptions> proxy;
    std::optional<files::StaticOptions> static_files;
    std::vector<PluginUse> plugins;  // run in order on each request (a filter chain)
    int line = 0;  // 1-based line in the config file, for messages

    // Label used in metrics and logs: the path template or "prefix*".
    std::string label() const { return path.empty() ? prefix + "*" : path; }

    // Are the options of `kind` the ones set? (The config loader sets both together.)
    bool has_kind_options() const {
        switch (kind) {
        case RouteKind::Sse: return sse.has_value();
        case RouteKind::Poll: return poll.has_value();
        case RouteKind::Proxy: return proxy.has_value();
        case RouteKind::Static: return static_files.has_value();
        }
        return false;
    }

    // The channel template of a route that serves a channel (sse, poll), else nullptr.
    const std::string* channel() const {
        if (sse) return &sse->channel;
        if (poll) return &poll->channel;
        return nullptr;
    }
};

}  // namespace sluice::router
