// TEMPORARY, until TLS and HTTP/2 are wired into client connections (issue 13): the
// config accepts `tls:` and `http2:` on listeners (and --check validates them, loading
// every certificate), but the connection layer does not serve them yet. Start-up and
// reload call this and refuse such a config with its message, rather than silently
// serving plain HTTP/1.1 where TLS was asked for. Delete with the wiring.
#pragma once

#include <string>

#include "gateway/config/config.h"

namespace sluice::config {

// "" when every listener is plain HTTP/1.1; else why the config cannot run.
std::string listen_features_not_yet_served(const Config& config);

}  // namespace sluice::config
