// The `routes` list: each route's match (path template or prefix), its one handler
// (one of the kinds in route_kinds.cc, which reads its options) and routes that an
// earlier one shadows.
#include <algorithm>

#include "gateway/config/loaders.h"
#include "gateway/config/route_kinds.h"
#include "gateway/config/templates.h"

namespace sluice::config {
namespace {

// Reads path / prefix into `out` and fills in what handlers need to know about captures.
void load_match(MapReader& r, Diagnostics& diag, router::Route& out, RouteContext& ctx) {
    auto path = r.find("path");
    auto prefix = r.find("prefix");
    if (path && prefix) {
        bool path_first = r.key_mark("path").pos < r.key_mark("prefix").pos;
        diag.error(r.key_mark(path_first ? "prefix" : "path"),
                   r.where() + ": has both 'path' and 'prefix'; a route matches by one of them");
        return;  // captures stay unknown: no placeholder errors on top of this one
    }
    if (!path && !prefix) {
        if (r.is_map()) diag.error(r.mark(), r.where() + ": needs 'path' or 'prefix'");
        return;
    }
    const Value& v = path ? *path : *prefix;
    auto text = read_string(v, diag);
    if (!text) return;
    std::string err = path ? check_path_template(*text, ctx.captures) : check_prefix(*text);
    if (!err.empty()) {
        diag.error(v.mark, v.path + ": " + err);
        return;
    }
    (path ? out.path : out.prefix) = *text;
    ctx.is_prefix = !path;
    ctx.captures_known = true;
}

void load_route(const Value& v, Diagnostics& diag, RouteContext ctx, const PluginCatalog* plugins,
                router::Route& out) {
    out.line = v.mark.line + 1;
    MapReader r(v, diag);
    load_match(r, diag, out, ctx);

    // Collect the kinds given, in file order: the first one counts, later ones are errors.
    std::vector<std::pair<const RouteKindEntry*, Value>> given;
    for (const RouteKindEntry& kind : route_kinds()) {
        if (auto h = r.find(kind.key)) given.emplace_back(&kind, *h);
    }
    std::sort(given.begin(), given.end(), [&](const auto& a, const auto& b) {
        return r.key_mark(a.first->key).pos < r.key_mark(b.first->key).pos;
    });
    if (given.empty() && r.is_map()) {
        diag.error(r.mark(), r.where() + ": needs a handler: one of " + route_kind_names());
    }
    for (size_t i = 1; i < given.size(); ++i) {
        diag.error(r.key_mark(given[i].first->key),
                   r.where() + ": has both '" + std::string(given[0].first->key) + "' and '" +
                       std::string(given[i].first->key) + "'; a route has exactly one handler");
    }
    // Every kind given is still read, so its own mistakes are reported too; only the
    // first is kept.
    for (size_t i = 0; i < given.size(); ++i) {
        const auto& [kind, hv] = given[i];
        if (i > 0) {
            router::Route ignored;
            kind->load(hv, diag, ctx, ignored);
            continue;
        }
        kind->load(hv, diag, ctx, out);
        out.kind = kind->kind;
        out.methods = kind->methods;
    }
    // After the handler: a plugin may check its options against the route's kind.
    if (auto p = r.find("plugins")) load_plugins(*p, diag, plugins, PluginSite{&out, &ctx.upstreams}, out.plugins);
    r.finish();
}

}  // namespace

namespace {

// A path template with its capture names blanked: /a/{id} and /a/{x} match the same paths.
std::string template_shape(const std::string& path) {
    std::string out;
    bool in_capture = false;
    for (char c : path) {
        if (c == '{') in_capture = true;
        if (!in_capture) out += c;
        if (c == '}') {
            in_capture = false;
            out += "{}";
        }
    }
    return out;
}

// True when every request `later` could match is matched by `earlier` first (routes are
// tried in file order, and a wrong method on the first match is a 405, not the next route).
bool shadows(const router::Route& earlier, const router::Route& later) {
    if (!earlier.prefix.empty()) {
        // Whatever later matches begins with its literal text up to the first capture.
        const std::string& text = later.prefix.empty() ? later.path : later.prefix;
        std::string literal = text.substr(0, text.find('{'));
        return literal.compare(0, earlier.prefix.size(), earlier.prefix) == 0;
    }
    return !later.path.empty() && template_shape(earlier.path) == template_shape(later.path);
}

// A route that can never match is a mistake (nginx refuses a duplicate location too).
void report_shadowed(const Value& item, const router::Route& route,
                     const std::vector<router::Route>& earlier,
                     Diagnostics& diag) {
    if (route.path.empty() && route.prefix.empty()) return;  // already reported
    for (size_t i = 0; i < earlier.size(); ++i) {
        if (!shadows(earlier[i], route)) continue;
        const char* key = route.path.empty() ? "prefix" : "path";
        YAML::Node at = item.node.IsMap() ? item.node[key] : YAML::Node();
        diag.error(at ? at.Mark() : item.mark,
                   item.path + "." + key + ": this route can never match: routes[" +
                       std::to_string(i) + "] (line " + std::to_string(earlier[i].line) +
                       ") matches every request it would");
        return;
    }
}

}  // namespace

void load_routes(const Value& v, Diagnostics& diag, const Defaults& defaults,
                 const std::map<std::string, proxy::UpstreamOptions>& upstreams,
                 const PluginCatalog* plugins, std::vector<router::Route>& out) {
    for (const auto& item : read_list(v, "routes", diag)) {
        router::Route route;
        load_route(item, diag, RouteContext{defaults, upstreams, false, false, {}}, plugins, route);
        report_shadowed(item, route, out, diag);
        out.push_back(std::move(route));
    }
}

}  // namespace sluice::config
