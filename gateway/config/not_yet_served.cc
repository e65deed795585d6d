#include "gateway/config/not_yet_served.h"

namespace sluice::config {

std::string listen_features_not_yet_served(const Config& config) {
    for (size_t i = 0; i < config.listen.size(); ++i) {
        const ListenAddress& l = config.listen[i];
        if (!l.http2_requested) continue;
        std::string host = l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host;
        return "listen[" + std::to_string(i) + "] (" + host + ":" + std::to_string(l.port) +
               "): http2 is not yet supported by this build (the configuration is valid, but "
               "connections are not served over HTTP/2 yet); remove `http2: true` from this "
               "listener to run" +
               (l.tls ? " (over TLS it then serves HTTP/1.1)" : "");
    }
    return "";
}

}  // namespace sluice::config
