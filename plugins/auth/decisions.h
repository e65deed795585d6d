// What the authenticating plugins (jwt, api_key) do with their decision on a request:
// count it (sluice_plugin_decisions_total{plugin,route,decision}), log a refusal once, and
// answer it. The log line names the plugin, the route, the reason, the client's address
// and the request id; never the token or key.
//
//   decision         counted as        answer
//   let through      allow             (the next filter, then the handler)
//   no/bad creds     unauthenticated   401 + WWW-Authenticate
//   not allowed      forbidden         403
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "plugins/registry.h"

namespace sluice::plugins::auth {

class Decisions {
  public:
    Decisions(std::string plugin, const BuildContext& ctx);

    void allow();
    // Counts and logs the refusal, answers `status` (401 or 403) with `reason` as the
    // error body and `headers`; returns Answered for the filter to return.
    pipeline::HeadVerdict refuse(pipeline::Request& req, int status, std::string_view reason,
                                 pipeline::Headers headers = {});

  private:
    std::string plugin_, route_;
    std::atomic<uint64_t>* allowed_ = nullptr;  // nullptr: the context counts nothing
    std::atomic<uint64_t>* unauthenticated_ = nullptr;
    std::atomic<uint64_t>* forbidden_ = nullptr;
};

// Does `pattern` (a channel name, or a prefix ending in '*'; "*" alone: every channel)
// cover `channel`?
bool channel_pattern_matches(std::string_view pattern, std::string_view channel);

}  // namespace sluice::plugins::auth
