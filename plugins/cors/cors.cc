#include "plugins/cors/cors.h"

#include <algorithm>

#include "gateway/core/ascii.h"
#include "gateway/http/ascii.h"

namespace sluice::plugins::cors {
namespace {

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out;
}

// scheme://host[:port], nothing after: what a browser sends as Origin.
bool is_origin(const std::string& s) {
    size_t sep = s.find("://");
    if (sep == std::string::npos || sep == 0 || sep + 3 >= s.size()) return false;
    for (size_t i = sep + 3; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '/' || c == '?' || c == '#' || c <= 0x20 || c >= 0x7f) return false;
    }
    return true;
}

const char* const kAllMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};

std::optional<Options> parse(config::MapReader& r, const config::PluginSite& site) {
    Options o;
    bool ok = true;
    if (r.require("origins") && r.get_string_list("origins", o.origins)) {
        for (const auto& origin : o.origins) {
            if (origin == "*") continue;
            if (!is_origin(origin)) {
                r.diag().error(r.find("origins")->mark,
                               r.path("origins") + ": '" + origin +
                                   "' is not an origin (scheme://host[:port], no path), or \"*\"");
                ok = false;
            }
        }
        bool star = std::find(o.origins.begin(), o.origins.end(), "*") != o.origins.end();
        if (star && o.origins.size() > 1) {
            r.diag().error(r.find("origins")->mark,
                           r.path("origins") + ": \"*\" allows every origin; list it alone");
            ok = false;
        }
        if (o.origins.empty()) {
            r.diag().error(r.find("origins")->mark,
                           r.path("origins") + ": list at least one origin, or \"*\"");
            ok = false;
        }
        o.any_origin = star;
    } else {
        ok = false;
    }
    if (r.has("methods")) {
        ok &= r.get_string_list("methods", o.methods);
        for (const auto& m : o.methods) {
            if (!http::is_token(m)) {
                r.diag().error(r.find("methods")->mark, r.path("methods") + ": '" + m + "' is not a method");
                ok = false;
            }
        }
    } else if (site.route == nullptr) {
        o.methods = {"POST"};
    } else if (!site.route->methods.empty()) {
        o.methods = site.route->methods;
    } else {
        o.methods.assign(std::begin(kAllMethods), std::end(kAllMethods));
    }
    for (const char* key : {"headers", "expose_headers"}) {
        if (!r.has(key)) continue;
        auto& list = std::string_view(key) == "headers" ? o.headers : o.expose_headers;
        ok &= r.get_string_list(key, list);
        for (const auto& h : list) {
            if (!http::is_token(h)) {
                r.diag().error(r.find(key)->mark, r.path(key) + ": '" + h + "' is not a header name");
                ok = false;
            }
        }
    }
    ok &= r.get_bool("credentials", o.credentials);
    if (r.has("max_age")) {
        config::Millis max_age{0};
        if (r.get_duration("max_age", max_age)) {
            o.max_age_seconds = std::chrono::duration_cast<std::chrono::seconds>(max_age).count();
        } else {
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return o;
}

}  // namespace

CorsFilter::CorsFilter(Options o)
    : opts_(std::move(o)), methods_(join(opts_.methods)), headers_(join(opts_.headers)),
      expose_(join(opts_.expose_headers)) {}

bool CorsFilter::allowed(const std::string& origin) const {
    if (opts_.any_origin) return true;
    return std::find(opts_.origins.begin(), opts_.origins.end(), origin) != opts_.origins.end();
}

pipeline::HeadVerdict CorsFilter::on_request_head(pipeline::Request& req, pipeline::Resume) {
    const http::RequestHead& head = req.head();
    if (head.method != "OPTIONS") return pipeline::HeadVerdict::Pass;
    const std::string* origin = head.header("Origin");
    // Not a preflight (no Origin or no requested method), or an origin not allowed: the
    // route answers it as if there were no cors plugin.
    if (!origin || !head.header("Access-Control-Request-Method") || !allowed(*origin))
        return pipeline::HeadVerdict::Pass;
    // Allow-Origin, Allow-Credentials and Vary come from on_response_head, like on every
    // answer of the route.
    pipeline::Headers h{{"Access-Control-Allow-Methods", methods_}};
    if (!headers_.empty()) h.emplace_back("Access-Control-Allow-Headers", headers_);
    if (opts_.max_age_seconds >= 0)
        h.emplace_back("Access-Control-Max-Age", std::to_string(opts_.max_age_seconds));
    req.respond(204, "", "", std::move(h));
    return pipeline::HeadVerdict::Answered;
}

void CorsFilter::on_response_head(const pipeline::Request& req, pipeline::ResponseHead& head) {
    // The answer depends on Origin unless every origin gets the same "*": caches must know.
    bool echo = !opts_.any_origin || opts_.credentials;
    if (echo) head.headers.emplace_back("Vary", "Origin");
    const std::string* origin = req.head().header("Origin");
    if (!origin || !allowed(*origin)) return;
    // With credentials a browser refuses "*": the origin itself is sent back.
    head.headers.emplace_back("Access-Control-Allow-Origin", echo ? *origin : std::string("*"));
    if (opts_.credentials) head.headers.emplace_back("Access-Control-Allow-Credentials", "true");
    if (!expose_.empty()) head.headers.emplace_back("Access-Control-Expose-Headers", expose_);
}

PluginDef plugin() {
    return make_plugin<Options>(
        "cors", parse,
        [](const Options& o, const BuildContext&, std::string&) -> std::shared_ptr<pipeline::Filter> {
            return std::make_shared<CorsFilter>(o);
        });
}

}  // namespace sluice::plugins::cors
