#include "plugins/jwt/jwt.h"

#include <algorithm>
#include <chrono>

#include "gateway/core/ascii.h"
#include "gateway/core/secret_params.h"
#include "gateway/http/ascii.h"
#include "plugins/jwt/config_reader.h"

namespace sluice::plugins::jwt {
namespace {

constexpr std::string_view kChallenge = "Bearer realm=\"sluice\"";

// Headers sluice frames or routes by itself: a claim cannot replace them.
bool is_protected(std::string_view name) {
    for (std::string_view p : {"Content-Length", "Transfer-Encoding", "Connection", "Host", "Upgrade",
                               "Keep-Alive", "TE", "Trailer", "Content-Type", "Authorization"}) {
        if (ascii_iequals(name, p)) return true;
    }
    return false;
}

bool read_forward_claims(config::MapReader& r, const config::PluginSite& site,
                         std::vector<std::pair<std::string, std::string>>& out) {
    auto v = r.find("forward_claims");
    if (!v) return true;
    if (!site.route || site.route->kind != router::RouteKind::Proxy) {
        r.diag().error(v->mark, r.path("forward_claims") +
                                    ": only proxy routes send requests upstream; use it there");
        return false;
    }
    config::MapReader m(*v, r.diag());
    if (!m.is_map()) return false;
    bool ok = true;
    for (auto& field : m.all()) {
        auto header = config::read_string(field.value, r.diag());
        if (!header) {
            ok = false;
            continue;
        }
        if (!http::is_token(*header) || is_protected(*header)) {
            r.diag().error(field.value.mark,
                           field.value.path + ": '" + *header +
                               (http::is_token(*header) ? "' cannot be set from a claim"
                                                        : "' is not a header name"));
            ok = false;
            continue;
        }
        out.emplace_back(field.key, *header);
    }
    m.finish();
    if (ok && out.empty()) {
        r.diag().error(v->mark, r.path("forward_claims") + ": name at least one claim: header");
        ok = false;
    }
    return ok;
}

std::optional<PluginOptions> parse(config::MapReader& r, const config::PluginSite& site) {
    PluginOptions o;
    o.verifier = read_jwt_config(r);
    bool ok = read_forward_claims(r, site, o.forward_claims);
    if (!o.verifier || !ok) return std::nullopt;
    return o;
}

// A claim as a header value: strings as they are, anything else as its JSON text.
std::string claim_text(const nlohmann::json& claim) {
    return claim.is_string() ? claim.get<std::string>() : claim.dump();
}

bool is_field_value(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t') || c == 0x7f;
    });
}

int64_t system_wall_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

JwtFilter::JwtFilter(PluginOptions o, const BuildContext& ctx, std::function<int64_t()> wall_ms)
    : opts_(std::move(o)),
      channel_of_(ctx.channel_of),
      decisions_("jwt", ctx),
      wall_ms_(wall_ms ? std::move(wall_ms) : std::function<int64_t()>(system_wall_ms)) {
    // A token in the URL must not reach the access log under a name of our choosing.
    for (const TokenSource& src : opts_.verifier->options().from)
        if (src.kind == TokenSource::Kind::Query) secret_params::add(src.name);
}

bool JwtFilter::forward_claims(http::RequestHead& head, const nlohmann::json& claims) const {
    for (const auto& forwarded : opts_.forward_claims) {
        const std::string& header = forwarded.second;
        std::erase_if(head.headers, [&](const http::Header& h) { return ascii_iequals(h.name, header); });
    }
    for (const auto& [claim, header] : opts_.forward_claims) {
        auto it = claims.find(claim);
        if (it == claims.end() || it->is_null()) continue;  // absent: no header
        std::string value = claim_text(*it);
        if (!is_field_value(value)) return false;
        head.headers.push_back({header, std::move(value)});
    }
    return true;
}

pipeline::HeadVerdict JwtFilter::on_request_head(pipeline::Request& req, pipeline::Resume) {
    const Options& o = opts_.verifier->options();
    const http::RequestHead& head = req.head();
    int64_t now_ms = wall_ms_();
    std::string token = find_token(head, o.from);
    Verdict v = opts_.verifier->verify(token, now_ms / 1000);
    if (!v.ok()) {
        // RFC 6750 section 3: no error code when the request carried no token at all.
        std::string challenge(kChallenge);
        if (v.outcome != Outcome::Missing) challenge += ", error=\"invalid_token\"";
        return decisions_.refuse(req, 401, outcome_reason(v.outcome),
                                 {{"WWW-Authenticate", std::move(challenge)}});
    }
    if (channel_of_ && !o.channels_claim.empty()) {
        // No valid channel in the path: the handler answers 400 for it.
        if (std::optional<std::string> channel = channel_of_(head);
            channel && !opts_.verifier->allows_channel(v, *channel)) {
            return decisions_.refuse(
                req, 403, outcome_reason(Outcome::ChannelNotAllowed),
                {{"WWW-Authenticate", std::string(kChallenge) + ", error=\"insufficient_scope\""}});
        }
    }
    if (!opts_.forward_claims.empty()) {
        // Request hands filters a const head; the head it returns is the carrier's own
        // parsed head, which the proxy reads after the filters (as the headers plugin does).
        auto& editable = const_cast<http::RequestHead&>(head);
        if (!forward_claims(editable, v.claims)) {
            return decisions_.refuse(req, 401, "a forwarded claim cannot be a header value",
                                     {{"WWW-Authenticate", std::string(kChallenge) +
                                                               ", error=\"invalid_token\""}});
        }
    }
    if (o.close_on_expiry && v.expires_at) {
        // The answer ends when the token would no longer be accepted: exp plus leeway.
        int64_t end_ms = (*v.expires_at + o.leeway.count()) * 1000;
        uint64_t left = end_ms > now_ms ? static_cast<uint64_t>(end_ms - now_ms) : 0;
        req.close_at(req.now_ms() + left, sse::CloseReason::Expired);
    }
    decisions_.allow();
    return pipeline::HeadVerdict::Pass;
}

PluginDef plugin() {
    PluginDef def = make_plugin<PluginOptions>(
        "jwt", parse,
        [](const PluginOptions& o, const BuildContext& ctx, std::string&) -> std::shared_ptr<pipeline::Filter> {
            return std::make_shared<JwtFilter>(o, ctx);
        });
    def.authenticates = true;
    return def;
}

}  // namespace sluice::plugins::jwt
