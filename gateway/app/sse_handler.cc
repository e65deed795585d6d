// GET on an sse route: resolve the channel and resume point, then hand the connection
// to an SseStream (SPEC.md section 5).
#include "gateway/app/connection.h"
#include "gateway/app/dispatch.h"
#include "gateway/app/request_params.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"
#include "gateway/sse/encode.h"

namespace sluice::app {

void handle_sse(Connection& conn, const router::Match& m) {
    const config::SseRoute& route = *m.route->route->sse;
    const http::RequestHead& req = conn.request();
    ParamError err;
    auto channel_name = channel_for(m, &err);
    if (!channel_name) {
        conn.respond_error(err.status, err.reason);
        return;
    }
    auto position = resume_position(req, true, &err);
    if (!err.reason.empty()) {
        conn.respond_error(err.status, err.reason);
        return;
    }
    Worker& w = conn.worker();
    sse::Channel* channel = w.channel_for_client(*channel_name);
    if (!channel) {
        log::warn("channel limit reached", log::field("channel", *channel_name));
        conn.respond_error(503, "too many channels");
        return;
    }
    sse::ResumeRequest rr;
    rr.position = position;
    rr.start = route.start == config::StartMode::Latest ? sse::Start::Latest : sse::Start::Earliest;
    sse::ResumeDecision decision = sse::decide_resume(rr, channel->window(route.terminal));
    if (decision.action == sse::ResumeDecision::Action::NoContent) {
        conn.respond(204, "");  // the channel has ended: EventSource stops reconnecting
        return;
    }
    http::ResponseHead head;
    head.status = 200;
    head.keep_alive = false;  // the body ends when the connection closes
    head.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
    std::string bytes = http::build_stream_head(head, "text/event-stream");
    if (req.method == "HEAD") {
        conn.respond_raw(200, std::move(bytes), false);
        return;
    }
    bytes += sse::encode_retry(static_cast<uint64_t>(route.retry.count()));
    sse::StreamSettings settings;
    settings.route = &route;
    settings.client_buffer = conn.request_runtime()->config->limits.client_buffer;
    auto stream = std::make_unique<sse::SseStream>(conn, w.wheel(), w, settings);
    sse::SseStream* s = stream.get();
    conn.begin_stream(std::move(bytes), std::move(stream), *channel_name);
    s->start(*channel, decision);
}

}  // namespace sluice::app
