#include "plugins/forward_auth/options.h"

#include "gateway/http/ascii.h"

namespace sluice::plugins::forward_auth {
namespace {

YAML::Mark item_mark(const config::Value& list, size_t i) {
    return list.node.IsSequence() && i < list.node.size() ? list.node[i].Mark() : list.mark;
}

// A list of header names: each a token (RFC 9110 5.6.2).
bool read_header_names(config::MapReader& r, std::string_view key, std::vector<std::string>& out) {
    if (!r.get_string_list(key, out)) return false;
    auto list = r.find(key);
    if (!list) return true;
    bool ok = true;
    for (size_t i = 0; i < out.size(); ++i) {
        if (!http::is_token(out[i])) {
            r.diag().error(item_mark(*list, i), r.path(key) + "[" + std::to_string(i) +
                                                    "]: '" + out[i] + "' is not a header name");
            ok = false;
        }
    }
    return ok;
}

// Headers sluice sets on the check itself (or that describe the connection): a
// request_headers entry naming one would be dropped or overwritten.
bool set_by_the_check(std::string_view name) {
    for (std::string_view own : {"host", "connection", "content-length", "transfer-encoding",
                                 "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                                 "x-forwarded-method", "x-forwarded-uri", "x-request-id"}) {
        if (ascii_iequals(name, own)) return true;
    }
    return false;
}

}  // namespace

std::optional<Options> parse_options(config::MapReader& r, const config::PluginSite& site) {
    Options o;
    bool ok = true;
    if (!r.require("upstream") || !r.get_string("upstream", o.upstream)) {
        ok = false;
    } else if (site.upstreams && !site.upstreams->count(o.upstream)) {
        std::string known;
        for (const auto& [name, cfg] : *site.upstreams) known += (known.empty() ? "" : ", ") + name;
        r.diag().error(r.find("upstream")->mark,
                       r.path("upstream") + ": no upstream named '" + o.upstream + "' in upstreams" +
                           (known.empty() ? std::string(" (there are none)") : " (known: " + known + ")"));
        ok = false;
    }
    if (r.get_string("path", o.path)) {
        if (o.path[0] != '/' || o.path[0] != '/' || http::has_space_or_ctl(o.path)) {
            r.diag().error(r.find("path")->mark,
                           r.path("path") + ": must start with '/' and hold no spaces or controls");
            ok = false;
        }
    } else {
        ok = false;
    }
    ok &= read_header_names(r, "request_headers", o.request_headers);
    if (auto list = r.find("request_headers")) {
        for (size_t i = 0; i < o.request_headers.size(); ++i) {
            if (set_by_the_check(o.request_headers[i])) {
                r.diag().error(item_mark(*list, i),
                               r.path("request_headers") + "[" + std::to_string(i) + "]: " +
                                   o.request_headers[i] + " is set by sluice on every check");
                ok = false;
            }
        }
    }
    ok &= read_header_names(r, "copy_headers", o.copy_headers);
    ok &= r.get_duration("timeout", o.timeout, Millis(1));
    ok &= r.get_duration("cache", o.cache);
    ok &= r.get_count("cache_size", o.cache_size, 1, 10'000'000);
    return ok ? std::optional<Options>(std::move(o)) : std::nullopt;
}

}  // namespace sluice::plugins::forward_auth
