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

namespace {

nlohmann::json event_json(const history::StoredEvent& ev) {
    nlohmann::json e;
    e["id"] = ev.position;
    std::string name = sse::event_name_from_encoded(*ev.encoded);
    e["event"] = name.empty() ? nlohmann::json(nullptr) : nlohmann::json(name);
    e["data"] = sse::event_data_from_encoded(*ev.encoded);
    return e;
}

}  // namespace

PollAnswer build_poll_answer(const sse::Channel& channel, const config::PollRoute& route,
                             std::optional<uint64_t> position,
                             const std::vector<history::StoredEvent>* older) {
    sse::ResumeRequest rr;
    rr.position = position;
    sse::ResumeDecision d = sse::decide_resume(rr, channel.window(route.terminal));
    uint64_t requested = position.value_or(0);
    nlohmann::json body;
    nlohmann::json events = nlohmann::json::array();
    PollAnswer out;
    if (d.action == sse::ResumeDecision::Action::NoContent) {
        body["events"] = events;
        body["position"] = requested;
        body["done"] = true;
        out.body = body.dump();
        out.has_news = true;
        return out;
    }
    uint64_t last = requested;
    uint64_t next = d.next;
    bool done = false;
    uint64_t n = 0;
    std::optional<sse::Gap> gap = d.gap;
    if (gap && older && !older->empty()) {
        // Events the broker still held fill the front of the gap; only the part before
        // them stays a gap. A batch that stops short of the gap's end ends this answer.
        uint64_t first = 0;
        for (const auto& ev : *older) {
            if (ev.position < gap->from || ev.position > gap->to || n >= route.max_events) continue;
            if (first == 0) first = ev.position;
            else if (ev.position != last + 1) break;
            events.push_back(event_json(ev));
            last = ev.position;
            ++n;
            if ((done = sse::is_terminal(route.terminal, ev.type))) break;
        }
        if (first != 0) {
            gap = first > gap->from ? std::optional<sse::Gap>(sse::Gap{gap->from, first - 1}) : std::nullopt;
            next = last == d.gap->to ? d.next : UINT64_MAX;
        }
    }
    if (gap) {
        body["gap"] = {{"from", gap->from}, {"to", gap->to}};
        out.has_news = true;
    }
    const auto& hist = channel.history();
    while (n < route.max_events && !done && next != UINT64_MAX) {
        const history::StoredEvent* ev = hist.first_at_or_after(next);
        // Stop at a hole in the middle of the history: the next poll reports it as a gap.
        if (!ev || (ev->position != next && n > 0)) break;
        events.push_back(event_json(*ev));
        last = ev->position;
        next = ev->position + 1;
        done = sse::is_terminal(route.terminal, ev->type);
        ++n;
    }
    if (!events.empty()) out.has_news = true;
    body["events"] = std::move(events);
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
    Worker& w = conn.worker();
    if (!w.broker_ready()) {
        // Broker down: answer from what this loop holds, never wait (SPEC section 5).
        sse::Channel* ch = w.find_channel(*channel_name);
        if (ch) conn.respond(200, build_poll_answer(*ch, route, position).body);
        else conn.respond(200, nlohmann::json{{"events", nlohmann::json::array()},
                                               {"position", position.value_or(0)},
                                               {"done", false}}.dump());
        return;
    }
    auto alive = conn.alive();
    Connection* c = &conn;
    const config::PollRoute* r = &route;
    // Broker replies may come later: pipelined requests wait for this answer.
    conn.begin_async(10000);
    w.with_channel(*channel_name, [=, &w, name = *channel_name](sse::Channel* ch) {
        if (!*alive) return;
        sse::ResumeRequest rr;
        rr.position = position;
        sse::ResumeDecision d = sse::decide_resume(rr, ch->window(r->terminal));
        bool older_than_window = d.gap && d.gap->to < ch->history().head();
        if (older_than_window && w.can_fetch()) {
            uint64_t to = std::min(d.gap->to, d.gap->from + r->max_events - 1);
            w.fetch(name, d.gap->from, to, [=, &w](std::vector<history::StoredEvent> older) {
                if (!*alive) return;
                // No reader holds the channel while the broker answers, so the loop may
                // have let it go meanwhile: look it up (or load it) again.
                auto shared = std::make_shared<std::vector<history::StoredEvent>>(std::move(older));
                w.with_channel(name, [=](sse::Channel* again) {
                    if (!*alive) return;
                    c->respond(200, build_poll_answer(*again, *r, position, shared.get()).body);
                });
            });
            return;
        }
        PollAnswer a = build_poll_answer(*ch, *r, position);
        if (a.has_news || wait_ms == 0 || w.draining()) {
            c->respond(200, a.body);
            return;
        }
        c->begin_wait(std::make_unique<PollWaiter>(*c, *ch, *r, position), wait_ms);
    });
}

}  // namespace sluice::app
