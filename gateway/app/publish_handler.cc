// The HTTP publish endpoint (docs/publishing.md): POST {publish.path} with a bearer token.
#include "gateway/app/dispatch.h"
#include "gateway/app/worker.h"
#include "gateway/broker/payload_rules.h"
#include "gateway/core/log.h"
#include "gateway/core/utf8.h"

namespace sluice::app {
namespace {

constexpr uint64_t kBrokerTimeoutMs = 10000;

}  // namespace

std::string_view body_too_large_reason(const http::RequestHead& req, const Runtime& rt) {
    router::Captures caps;
    if (rt.publish_path && rt.publish_path->match(req.path, caps))
        return broker::describe(broker::PayloadProblem::TooLarge);
    return "request body larger than limits.max_body_size";
}

std::optional<std::string> publish_channel(const router::Captures& caps) {
    std::string channel;
    for (auto& [name, value] : caps)
        if (name == "channel") channel = value;
    if (!router::valid_channel_value(channel)) return std::nullopt;
    return channel;
}

void handle_publish(pipeline::Request& conn, const Context& ctx, const router::Captures& caps) {
    const Runtime& rt = *ctx.runtime;
    const http::RequestHead& req = conn.head();
    if (req.method != "POST") {
        conn.respond_error(405, "method not allowed", {{"Allow", "POST"}});
        return;
    }
    // The token (publish_auth.h) and the authenticating plugins ran before: the chain.
    std::optional<std::string> valid = publish_channel(caps);
    if (!valid) {
        conn.respond_error(400, "channel must match [A-Za-z0-9_.:-]{1,128}");
        return;
    }
    std::string channel = std::move(*valid);
    const std::string& body = conn.body();
    // The same payload rules as for events arriving from Redis: SSE is UTF-8 text.
    broker::PayloadProblem payload_problem =
        broker::check_payload(body, rt.config->limits.max_event_size);
    if (payload_problem != broker::PayloadProblem::None) {
        conn.respond_error(payload_problem == broker::PayloadProblem::TooLarge ? 413 : 400,
                           broker::describe(payload_problem));
        return;
    }
    const std::string* event = req.header("Event");
    std::string event_name = event ? *event : std::string();
    if (std::string_view problem = broker::event_name_problem(event_name); !problem.empty()) {
        log::info("publish refused", {{"reason", problem}, {"remote", conn.remote()}});
        conn.respond_error(400, problem);
        return;
    }
    Worker& w = ctx.worker;
    if (!w.broker().ready()) {
        conn.respond_error(503, "broker not ready");
        return;
    }
    // The broker answers later (at the end of this turn for memory), and the request
    // waits until it does (the reply is ignored once the request has been answered
    // otherwise, e.g. by a 504).
    auto alive = conn.alive();
    conn.wait(kBrokerTimeoutMs);
    w.publish(channel, body, event_name, [&conn, &w, alive, channel](Result<uint64_t> pos) {
        if (!alive) return;  // the client left before the broker answered
        if (!pos && pos.error().code == Errc::Overloaded) {
            // Not stored, so not acknowledged: a 200 always means the event is in history.
            log::warn("publish refused: channel limit reached (limits.max_channels)",
                      {{"channel", channel}});
            conn.respond_error(503, "channel limit reached (limits.max_channels); event not stored");
            return;
        }
        if (!pos) {
            log::error("publish failed", {{"error", pos.error().detail}});
            conn.respond_error(503, "publish failed");
            return;
        }
        w.metrics().events_published.add(1);
        conn.respond(200, "{\"position\":" + std::to_string(*pos) + "}");
    });
}

}  // namespace sluice::app
