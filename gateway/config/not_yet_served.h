// TEMPORARY, until HTTP/2 is wired into client connections (issue 13): the config
// accepts `http2:` on listeners, but the connection layer serves HTTP/1.1 only (over TCP
// or TLS). Start-up and reload refuse a listener that asks for HTTP/2 with
// `http2: true` written out (h2c, or h2 over TLS) with this message, rather than
// silently serving HTTP/1.1 where HTTP/2 was asked for. A `tls:` listener that leaves
// `http2` at its default is served: it offers only `http/1.1` by ALPN, and clients that
// would take h2 use HTTP/1.1 instead. Delete with the HTTP/2 wiring.
#pragma once

#include <string>

#include "gateway/config/config.h"

namespace sluice::config {

// "" when every listener can be served; else why the config cannot run.
std::string listen_features_not_yet_served(const Config& config);

}  // namespace sluice::config
