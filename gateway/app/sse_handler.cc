// GET on an sse route: resolve the channel and resume point, then hand the connection
// to an SseStream (docs/protocol.md). While the broker is not ready, or the channel is
// loading from it, the client is answered 200 at once and held with heartbeats.
#include "gateway/app/dispatch.h"
#include "gateway/app/request_params.h"
#include "gateway/app/sse_responder.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"
#include "gateway/sse/encode.h"
#include "gateway/sse/resume_behind.h"

namespace sluice::app {
namespace {

pipeline::ResponseHead stream_head() {
    pipeline::ResponseHead head;
    head.status = 200;
    head.headers = {{"Content-Type", "text/event-stream"},
                    {"Cache-Control", "no-cache"},
                    {"X-Accel-Buffering", "no"}};
    head.body = pipeline::BodyEnd::Connection;
    return head;
}

sse::ResumeDecision decide(const sse::SseRouteOptions& route, std::optional<uint64_t> position,
                           const sse::Channel& channel) {
    sse::ResumeRequest rr;
    rr.position = position;
    rr.start = route.start;
    return sse::decide_resume(rr, channel.window(route.terminal));
}

}  // namespace

void handle_sse(pipeline::Request& req, const Context& ctx, const router::Match& m) {
    const sse::SseRouteOptions& route = *m.route->route->sse;
    const http::RequestHead& head = req.head();
    ParamError err;
    auto channel_name = channel_for(m, &err);
    if (!channel_name) {
        req.respond_error(err.status, err.reason);
        return;
    }
    auto position = resume_position(head, true, &err);
    if (!err.reason.empty()) {
        req.respond_error(err.status, err.reason);
        return;
    }
    if (head.method == "HEAD") {
        req.start_response(stream_head());
        req.end_response();
        return;
    }
    Worker& w = ctx.worker;
    if (!w.broker_ready() && route.on_broker_down == sse::BrokerDownPolicy::Pending) {
        // Clients that watch for this switch to polling (docs/protocol.md).
        req.start_response(stream_head());
        req.write(std::string("data: {\"type\":\"pending\",\"message\":\"Use polling\"}\n\n"));
        req.end_response();
        return;
    }

    sse::StreamSettings settings;
    settings.route = &route;
    settings.older = &w;
    settings.client_buffer = ctx.runtime->config->limits.client_buffer;
    std::string retry = sse::encode_retry(static_cast<uint64_t>(route.retry.count()));

    // Starts the stream: the head, the retry line, then the responder owns the rest.
    const pipeline::FilterChain* filters = &ctx.runtime->route_filters[m.index];
    auto open_stream = [&w, settings, retry, filters](pipeline::Request& r, const std::string& name) {
        r.start_response(stream_head());
        r.set_stream_channel(name);
        r.write(retry);
        auto responder =
            std::make_unique<SseResponder>(r, w.wheel(), w, settings, *filters, w.metrics());
        sse::SseStream* s = &responder->stream();
        r.hand_over(std::move(responder));
        return s;
    };
    // The stream, once 200 is out while the channel is still loading (the client is held
    // with heartbeats); until then 204 is still possible.
    auto held = std::make_shared<sse::SseStream*>(nullptr);
    auto alive = req.alive();
    pipeline::Request* r = &req;
    const sse::SseRouteOptions* rt = &route;
    // Starts (or ends) the stream once the decision is known.
    auto begin = [=](sse::Channel& ch, const sse::ResumeDecision& d, const std::string& name) {
        if (*held) {
            if (d.action == sse::ResumeDecision::Action::NoContent) (*held)->end_now();
            else (*held)->start(ch, d);
            return;
        }
        if (d.action == sse::ResumeDecision::Action::NoContent) {
            r->respond(204, "");  // the channel has ended: EventSource stops reconnecting
            return;
        }
        open_stream(*r, name)->start(ch, d);
    };
    Worker::ChannelLookup lookup = w.with_channel(*channel_name, [=, &w, name = *channel_name](sse::Channel* ch) {
        if (!alive) return;
        sse::ResumeDecision d = decide(*rt, position, *ch);
        bool ahead = position && *position > ch->history().head() &&
                     d.action == sse::ResumeDecision::Action::Stream;
        if (!ahead || !w.can_fetch()) {
            begin(*ch, d, name);
            return;
        }
        // The client claims more than this loop has: ask the broker's history for N
        // first. This loop may only be behind (the client got N from another instance),
        // and then neither a gap nor a reset is true.
        if (!*held) r->wait(10000);  // 204 stays possible until then
        uint64_t n = *position;
        w.fetch(name, n, n, [=, &w](std::vector<history::StoredEvent> at_n) {
            if (!alive) return;
            // No reader holds the channel while the broker answers, so the loop may have
            // let it go meanwhile: look it up (or load it) again.
            auto held_n = std::make_shared<std::vector<history::StoredEvent>>(std::move(at_n));
            w.with_channel(name, [=](sse::Channel* again) {
                if (!alive) return;
                auto behind = sse::resume_when_loop_behind(n, *held_n, rt->terminal);
                begin(*again, behind ? *behind : decide(*rt, position, *again), name);
            });
        });
    });
    if (lookup == Worker::ChannelLookup::ThisTurn) {
        req.wait(10000);  // answered at the end of this turn
        return;
    }
    *held = open_stream(req, *channel_name);
    (*held)->hold();
}

}  // namespace sluice::app
