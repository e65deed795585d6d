// jwt: the plugin on a route or the publish endpoint. On each request head it finds the
// token (Authorization: Bearer, a cookie, a query parameter), has the Verifier check it,
// and answers what the verdict says:
//
//   no token                       401  WWW-Authenticate: Bearer realm="sluice"
//   a token that does not verify   401  ... error="invalid_token"
//   channel outside channels_claim 403  ... error="insufficient_scope"  (sse, poll, publish)
//   valid                          pass: forward_claims set as request headers (proxy),
//                                  close_on_expiry arms the request's deadline (exp)
//
// The channel checked is the one the route's handler will serve (BuildContext::channel_of).
// One filter serves every request of its route on every loop: it holds only const state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "plugins/auth/decisions.h"
#include "plugins/jwt/verifier.h"
#include "plugins/registry.h"

namespace sluice::plugins::jwt {

struct PluginOptions {
    std::shared_ptr<const Verifier> verifier;
    // (claim, header): a verified claim sent upstream as a request header (proxy routes).
    std::vector<std::pair<std::string, std::string>> forward_claims;
};

class JwtFilter final : public pipeline::Filter {
  public:
    // `wall_ms`: the wall clock in milliseconds since the epoch (tests pass their own).
    JwtFilter(PluginOptions o, const BuildContext& ctx, std::function<int64_t()> wall_ms = nullptr);

    std::string_view name() const override { return "jwt"; }
    unsigned hooks() const override { return OnRequestHead; }
    pipeline::HeadVerdict on_request_head(pipeline::Request& req, pipeline::Resume) override;

  private:
    // Replaces the client's copies of the forwarded headers with the token's claims.
    // False when a claim cannot be a header value (a control character).
    bool forward_claims(http::RequestHead& head, const nlohmann::json& claims) const;

    PluginOptions opts_;
    ChannelOf channel_of_;
    auth::Decisions decisions_;
    std::function<int64_t()> wall_ms_;
};

PluginDef plugin();

}  // namespace sluice::plugins::jwt
