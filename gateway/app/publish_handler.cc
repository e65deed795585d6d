// The HTTP publish endpoint (SPEC.md section 4): POST {publish.path} with a bearer token.
#include <cstring>

#include "gateway/app/connection.h"
#include "gateway/app/dispatch.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"
#include "gateway/core/utf8.h"

namespace sluice::app {
namespace {

constexpr uint64_t kBrokerTimeoutMs = 10000;

// Constant-time comparison so the token cannot be guessed byte by byte from timings.
bool token_equals(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

bool valid_event_name(std::string_view name) {
    // "gap" is what sluice itself sends for positions it cannot deliver.
    if (name.size() > 128 || name == "gap") return false;
    for (char c : name)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

}  // namespace

bool handle_publish(Connection& conn) {
    const Runtime& rt = *conn.request_runtime();
    if (!rt.publish_path) return false;
    const http::RequestHead& req = conn.request();
    router::Captures caps;
    if (!rt.publish_path->match(req.path, caps)) return false;
    conn.set_route_label(rt.config->publish->path);
    if (req.method != "POST") {
        conn.respond_error(405, "method not allowed", {{"Allow", "POST"}});
        return true;
    }
    const std::string* auth = req.header("Authorization");
    if (!auth || auth->size() < 7 || strncasecmp(auth->c_str(), "Bearer ", 7) != 0) {
        conn.respond_error(401, "bearer token required", {{"WWW-Authenticate", "Bearer"}});
        return true;
    }
    if (!token_equals(std::string_view(*auth).substr(7), rt.config->publish->token)) {
        log::warn("publish with a wrong token", log::field("remote", conn.remote()));
        conn.respond_error(403, "invalid token");
        return true;
    }
    std::string channel;
    for (auto& [name, value] : caps)
        if (name == "channel") channel = value;
    if (!router::valid_channel_value(channel)) {
        conn.respond_error(400, "channel must match [A-Za-z0-9_.:-]{1,128}");
        return true;
    }
    const std::string& body = conn.request_body();
    if (body.size() > rt.config->limits.max_event_size) {
        conn.respond_error(413, "payload larger than limits.max_event_size");
        return true;
    }
    // The same payload rules as for events arriving from Redis: SSE is UTF-8 text.
    if (body.find('\0') != std::string::npos) {
        conn.respond_error(400, "payload contains a NUL byte");
        return true;
    }
    if (!valid_utf8(body)) {
        conn.respond_error(400, "payload is not valid UTF-8");
        return true;
    }
    const std::string* event = req.header("Event");
    std::string event_name = event ? *event : std::string();
    if (!valid_event_name(event_name)) {
        conn.respond_error(400, "invalid Event header");
        return true;
    }
    Worker& w = conn.worker();
    if (!w.broker().ready()) {
        conn.respond_error(503, "broker not ready");
        return true;
    }
    // The memory broker answers synchronously; a remote broker answers later, and the
    // connection is held (Waiting) until it does.
    auto alive = conn.alive();
    conn.begin_async(kBrokerTimeoutMs);
    w.broker().publish(channel, body, event_name, [&conn, &w, alive, channel](Result<uint64_t> pos) {
        if (!*alive) return;  // the client left before the broker answered
        if (!pos && pos.error().code == Errc::Overloaded) {
            // Not stored, so not acknowledged: a 200 always means the event is in history.
            log::warn("publish refused: channel limit reached (limits.max_channels)",
                      log::field("channel", channel));
            conn.respond_error(503, "channel limit reached (limits.max_channels); event not stored");
            return;
        }
        if (!pos) {
            log::error("publish failed", log::field("error", pos.error().detail));
            conn.respond_error(503, "publish failed");
            return;
        }
        w.metrics().events_published.add(1);
        conn.respond(200, "{\"position\":" + std::to_string(*pos) + "}");
    });
    return true;
}

}  // namespace sluice::app
