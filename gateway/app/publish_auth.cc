#include "gateway/app/publish_auth.h"

#include "gateway/core/ascii.h"
#include "gateway/core/log.h"

namespace sluice::app {
namespace {

// Constant-time comparison so the token cannot be guessed byte by byte from timings.
bool token_equals(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace

pipeline::HeadVerdict PublishTokenFilter::on_request_head(pipeline::Request& req, pipeline::Resume) {
    const http::RequestHead& head = req.head();
    if (head.method != "POST") return pipeline::HeadVerdict::Pass;
    const std::string* auth = head.header("Authorization");
    if (!auth || !ascii_istarts_with(*auth, "Bearer ")) {
        req.respond_error(401, "bearer token required", {{"WWW-Authenticate", "Bearer"}});
        return pipeline::HeadVerdict::Answered;
    }
    if (!token_equals(std::string_view(*auth).substr(7), token_)) {
        log::warn("publish with a wrong token", {{"remote", req.remote()}});
        req.respond_error(403, "invalid token");
        return pipeline::HeadVerdict::Answered;
    }
    return pipeline::HeadVerdict::Pass;
}

}  // namespace sluice::app
