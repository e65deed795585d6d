// GET on a poll route: the events after ?position=N as JSON, optionally held until the
// next event arrives (?wait=SECONDS). Same positions, gaps and terminal rules as SSE.
#include <nlohmann/json.hpp>

#include "gateway/app/connection.h"
#include "gateway/app/dispatch.h"
#include "gateway/app/poll_waiter.h"
#include "gateway/app/request_params.h"
#include "gateway/app/worker.h"
#include "gateway/http/url.h"
#include "gateway/sse/encode.h"

namespace sluice::app {

PollAnswer build_poll_answer(const sse::Channel& channel, const config::PollRoute& route,
                             std::optional<uint64_t> position) {
    sse::ResumeRequest rr;
    rr.position = position;
    sse::ResumeDecision d = sse::decide_resume(rr, channel.window(route.terminal));
    uint64_t requested = position.value_or(0);
    nlohmann::json body;
    body["events"] = nlohmann::json::array();
    PollAnswer out;
    if (d.action == sse::ResumeDecision::Action::NoContent) {
        body["position"] = requested;
        body["done"] = true;
        out.body = body.dump();
        out.has_news = true;
        return out;
    }
    if (d.gap) {
        body["gap"] = {{"from", d.gap->from}, {"to", d.gap->to}};
        out.has_news = true;
    }
    uint64_t last = requested;
    bool done = false;
    uint64_t next = d.next;
    const auto& hist = channel.history();
    for (uint64_t n = 0; n < route.max_events && !done;) {
        const history::StoredEvent* ev = hist.first_at_or_after(next);
        // Stop at a hole in the middle of the history: the next poll reports it as a gap.
        if (!ev || (ev->position != next && n > 0)) break;
        nlohmann::json e;
        e["id"] = ev->position;
        std::string name = sse::event_name_from_encoded(*ev->encoded);
        e["event"] = name.empty() ? nlohmann::json(nullptr) : nlohmann::json(name);
        e["data"] = sse::event_data_from_encoded(*ev->encoded);
        body["events"].push_back(std::move(e));
        last = ev->position;
        next = ev->position + 1;
        done = sse::is_terminal(route.terminal, ev->type);
        ++n;
    }
    if (!body["events"].empty()) out.has_news = true;
    body["position"] = last;
    body["done"] = done;
    out.has_news = out.has_news || done;
    // Invalid UTF-8 in a payload must not throw: replace it in the JSON text.
    out.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return out;
}

PollWaiter::PollWaiter(Connection& conn, sse::Channel& channel, const config::PollRoute& route,
                       std::optional<uint64_t> position)
    : conn_(conn), channel_(&channel), route_(route), position_(position) {
    channel.subscribe(*this);
}

PollWaiter::~PollWaiter() {
    if (channel_) channel_->unsubscribe(*this);
}

void PollWaiter::on_channel_event(sse::Channel& channel, const history::StoredEvent&) {
    PollAnswer a = build_poll_answer(channel, route_, position_);
    if (!a.has_news) return;
    channel.unsubscribe(*this);
    channel_ = nullptr;
    conn_.respond(200, a.body);  // destroys this waiter
}

void PollWaiter::on_timeout() {
    PollAnswer a = build_poll_answer(*channel_, route_, position_);
    channel_->unsubscribe(*this);
    channel_ = nullptr;
    conn_.respond(200, a.body);  // destroys this waiter
}

void handle_poll(Connection& conn, const router::Match& m) {
    const config::PollRoute& route = *m.route->route->poll;
    const http::RequestHead& req = conn.request();
    ParamError err;
    auto channel_name = channel_for(m, &err);
    if (!channel_name) {
        conn.respond_error(err.status, err.reason);
        return;
    }
    auto position = resume_position(req, false, &err);
    if (!err.reason.empty()) {
        conn.respond_error(err.status, err.reason);
        return;
    }
    uint64_t wait_ms = 0;
    if (auto w = http::query_param(req.query, "wait")) {
        auto secs = http::parse_uint(*w);
        if (!secs) {
            conn.respond_error(400, "wait must be a non-negative integer (seconds)");
            return;
        }
        uint64_t max_ms = static_cast<uint64_t>(route.max_wait.count());
        wait_ms = *secs > max_ms / 1000 ? max_ms : *secs * 1000;
    }
    sse::Channel* channel = conn.worker().channel_for_client(*channel_name);
    if (!channel) {
        conn.respond_error(503, "too many channels");
        return;
    }
    PollAnswer a = build_poll_answer(*channel, route, position);
    if (a.has_news || wait_ms == 0 || conn.worker().draining()) {
        conn.respond(200, a.body);
        return;
    }
    conn.begin_wait(std::make_unique<PollWaiter>(conn, *channel, route, position), wait_ms);
}

}  // namespace sluice::app
