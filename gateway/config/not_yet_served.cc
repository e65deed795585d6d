#include "gateway/config/not_yet_served.h"

namespace sluice::config {

std::string listen_features_not_yet_served(const Config& config) {
    for (size_t i = 0; i < config.listen.size(); ++i) {
        const ListenAddress& l = config.listen[i];
        if (!l.tls && !l.http2) continue;
        std::string host = l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host;
        std::string what = l.tls && l.http2 ? "tls and http2 are" : l.tls ? "tls is" : "http2 is";
        return "listen[" + std::to_string(i) + "] (" + host + ":" + std::to_string(l.port) + "): " + what +
               " not yet supported by this build (the configuration is valid, but connections "
               "are not served over TLS or HTTP/2 yet); remove them from this listener to run";
    }
    return "";
}

}  // namespace sluice::config
