// GET on an sse route: resolve the channel and resume point, then hand the connection
// to an SseStream (docs/protocol.md). While the broker is not ready, or the channel is
// loading from it, the client is answered 200 at once and held with heartbeats.
#include "gateway/app/connection.h"
#include "gateway/app/dispatch.h"
#include "gateway/app/request_params.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"
#include "gateway/sse/encode.h"
#include "gateway/sse/resume_behind.h"

namespace sluice::app {
namespace {

std::string stream_head() {
    http::ResponseHead head;
    head.status = 200;
    head.keep_alive = false;  // the body ends when the connection closes
    head.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
    return http::build_stream_head(head, "text/event-stream");
}

sse::ResumeDecision decide(const config::SseRoute& route, std::optional<uint64_t> position,
                           const sse::Channel& channel) {
    sse::ResumeRequest rr;
    rr.position = position;
    rr.start = route.start == config::StartMode::Latest ? sse::Start::Latest : sse::Start::Earliest;
    return sse::decide_resume(rr, channel.window(route.terminal));
}

}  // namespace

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
    if (req.method == "HEAD") {
        conn.respond_raw(200, stream_head(), false);
        return;
    }
    Worker& w = conn.worker();
    if (!w.broker_ready() && route.on_broker_down == config::BrokerDownPolicy::Pending) {
        // Clients that watch for this switch to polling (docs/protocol.md).
        static const std::string pending = "data: {\"type\":\"pending\",\"message\":\"Use polling\"}\n\n";
        conn.respond_raw(200, stream_head() + pending, false);
        return;
    }

    sse::StreamSettings settings;
    settings.route = &route;
    settings.older = &w;
    settings.client_buffer = conn.request_runtime()->config->limits.client_buffer;
    std::string retry = sse::encode_retry(static_cast<uint64_t>(route.retry.count()));

    // Synchronous answer when the loop holds the channel (or the memory broker answers
    // at once): 204 is still possible. Otherwise the client is held (200 sent).
    auto answered = std::make_shared<bool>(false);
    auto alive = conn.alive();
    Connection* c = &conn;
    const config::SseRoute* r = &route;
    // Starts (or ends) the stream once the decision is known.
    auto begin = [=, &w](sse::Channel& ch, const sse::ResumeDecision& d, const std::string& name) {
        sse::SseStream* held = c->stream();  // held until now: 200 is already out
        if (held) {
            if (d.action == sse::ResumeDecision::Action::NoContent) held->end_now();
            else held->start(ch, d);
            return;
        }
        if (d.action == sse::ResumeDecision::Action::NoContent) {
            c->respond(204, "");  // the channel has ended: EventSource stops reconnecting
            return;
        }
        auto stream = std::make_unique<sse::SseStream>(*c, w.wheel(), w, settings);
        sse::SseStream* s = stream.get();
        c->begin_stream(stream_head() + retry, std::move(stream), name);
        s->start(ch, d);
    };
    w.with_channel(*channel_name, [=, &w, name = *channel_name](sse::Channel* ch) {
        if (!*alive) return;
        *answered = true;
        sse::ResumeDecision d = decide(*r, position, *ch);
        bool ahead = position && *position > ch->history().head() &&
                     d.action == sse::ResumeDecision::Action::Stream;
        if (!ahead || !w.can_fetch()) {
            begin(*ch, d, name);
            return;
        }
        // The client claims more than this loop has: ask the broker's history for N
        // first. This loop may only be behind (the client got N from another instance),
        // and then neither a gap nor a reset is true.
        if (!c->stream()) c->begin_async(10000);  // 204 stays possible until then
        uint64_t n = *position;
        w.fetch(name, n, n, [=, &w](std::vector<history::StoredEvent> at_n) {
            if (!*alive) return;
            // No reader holds the channel while the broker answers, so the loop may have
            // let it go meanwhile: look it up (or load it) again.
            auto held_n = std::make_shared<std::vector<history::StoredEvent>>(std::move(at_n));
            w.with_channel(name, [=](sse::Channel* again) {
                if (!*alive) return;
                auto behind = sse::resume_when_loop_behind(n, *held_n, r->terminal);
                begin(*again, behind ? *behind : decide(*r, position, *again), name);
            });
        });
    });
    if (*answered || !*alive) return;
    auto stream = std::make_unique<sse::SseStream>(conn, w.wheel(), w, settings);
    sse::SseStream* s = stream.get();
    conn.begin_stream(stream_head() + retry, std::move(stream), *channel_name);
    s->hold();
}

}  // namespace sluice::app
