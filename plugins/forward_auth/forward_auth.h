// forward_auth: each request of the route is checked by an auth service (an upstream)
// before it goes on, like nginx's auth_request or Traefik's ForwardAuth. The filter
// suspends the chain, sends GET <path> to the upstream with the request's credentials
// (Authorization, Cookie, request_headers) and what describes it (X-Forwarded-Method,
// -Uri, -Host, -For, -Proto), and resumes it on its own loop with the verdict
// (verdict.h): 2xx lets it through with copy_headers set on it; any other status is
// passed back; no answer is 502/504.
//
// One filter serves its route on every loop. Its shared state (CheckCache: verdicts per
// credential, checks in flight) is guarded by a mutex; a check runs on the loop of the
// request that found no verdict and no check in flight, and every request waiting on it
// is resumed on its own loop (loop::PostHandle). A request whose client left meanwhile is
// skipped (its Resume does nothing).
#pragma once

#include <memory>

#include "plugins/forward_auth/check_cache.h"
#include "plugins/forward_auth/options.h"
#include "plugins/registry.h"

namespace sluice::plugins::forward_auth {

class ForwardAuthFilter final : public pipeline::Filter {
  public:
    ForwardAuthFilter(Options o, const BuildContext& ctx);

    std::string_view name() const override { return "forward_auth"; }
    unsigned hooks() const override { return OnRequestHead; }
    pipeline::HeadVerdict on_request_head(pipeline::Request& req, pipeline::Resume resume) override;

    // What the filter shares with the checks it starts and the requests waiting on them,
    // which may outlive it (a reload): kept by shared_ptr.
    struct Shared;

  private:
    std::shared_ptr<Shared> shared_;
};

// The credential a verdict is cached and shared under: the values of the headers sent
// to the auth service (Authorization, Cookie, then request_headers), in that order.
std::string credential_key(const http::RequestHead& head, const Options& o);

// The head of the check sent for `req` (Host and X-Forwarded-For/-Proto/-Host, and
// X-Request-Id, are added by the proxy as for any proxied request).
http::RequestHead check_head(const http::RequestHead& req, const Options& o);

PluginDef plugin();

}  // namespace sluice::plugins::forward_auth
