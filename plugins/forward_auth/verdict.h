// What one forward_auth check decided, in the form every request that waited on it (or
// finds it in the cache) is answered with. Built from the auth service's answer:
//
//   2xx                      Allow: the copy_headers it sent, to set on the request
//   any other status         Deny: that status back to the client, with the service's
//                            WWW-Authenticate, Location and Retry-After, and its body
//                            (with its Content-Type) when it is at most kMaxBody bytes
//   no answer                Error: 502 (refused, reset, bad response), 504 (timeout),
//                            503 (sluice shutting down)
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "gateway/pipeline/request.h"
#include "gateway/proxy/subrequest.h"

namespace sluice::plugins::forward_auth {

struct Verdict {
    enum class Kind { Allow, Deny, Error };
    Kind kind = Kind::Error;
    int status = 502;
    std::string reason;         // for the log line; never a credential
    pipeline::Headers headers;  // Allow: copy_headers found; Deny: the headers passed back
    bool has_body = false;      // Deny: the service's own body is passed back
    std::string body, content_type;

    // Failures are not kept: the next request asks again.
    bool cacheable() const { return kind != Kind::Error; }
};

inline constexpr size_t kMaxBody = 4096;

Verdict verdict_of(const proxy::SubrequestAnswer& answer, const std::vector<std::string>& copy_headers);

// The decision label of sluice_plugin_decisions_total.
const char* decision_name(const Verdict& v);

}  // namespace sluice::plugins::forward_auth
