// forward_auth's options (docs/plugins.md, "forward_auth") and the reader `sluice --check`
// runs on them: every problem is reported at its file:line:col.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/config/plugin_catalog.h"
#include "gateway/config/yaml_reader.h"

namespace sluice::plugins::forward_auth {

using Millis = std::chrono::milliseconds;

struct Options {
    std::string upstream;  // a name in the config's `upstreams`
    std::string path = "/";  // the request target of the check (may carry a query)
    // Client headers sent to the auth service besides the defaults (Authorization,
    // Cookie); all of them together are the credential a cached answer is kept under.
    std::vector<std::string> request_headers;
    // Headers of a 2xx answer set on the request (the client's own copies removed first).
    std::vector<std::string> copy_headers;
    Millis timeout = std::chrono::seconds(5);  // the whole check
    Millis cache = Millis(0);                  // 0: answers are not kept
    uint64_t cache_size = 10000;               // credentials kept at most
};

// The client headers every check sends (and keys its cache with).
inline const std::vector<std::string>& default_request_headers() {
    static const std::vector<std::string> names{"Authorization", "Cookie"};
    return names;
}

std::optional<Options> parse_options(config::MapReader& r, const config::PluginSite& site);

}  // namespace sluice::plugins::forward_auth
