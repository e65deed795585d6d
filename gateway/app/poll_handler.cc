// GET on a poll route: the events after ?position=N as JSON, optionally held until the
// next event arrives (?wait=SECONDS). Same positions, gaps and terminal rules as SSE.
#include <nlohmann/json.hpp>

#include "gateway/app/dispatch.h"
#include "gateway/app/poll_waiter.h"
#include "gateway/app/request_params.h"
#include "gateway/app/worker.h"
#include "gateway/http/url.h"
#include "gateway/sse/encode.h"
#include "gateway/sse/resume_behind.h"

namespace sluice::app {

namespace {

// The event as this client sees it (the route's event filters may drop or rewrite it);
// false when it is dropped for this client.
bool event_json(const history::StoredEvent& ev, const sse::EventFilter* filter, nlohmann::json& out) {
    SharedBytes bytes = ev.encoded;
    if (filter && !filter->keep(ev, bytes)) return false;
    nlohmann::json e;
    e["id"] = ev.position;
    std::string name = sse::event_name_from_encoded(*bytes);
    e["event"] = name.empty() ? nlohmann::json(nullptr) : nlohmann::json(name);
    e["data"] = sse::event_data_from_encoded(*bytes);
    out.push_back(std::move(e));
    return true;
}

// Answers from the loop's history, or holds the poll until news or `wait_ms`.
void wait_for_news(pipeline::Request& req, Worker& w, sse::Channel& ch, const sse::PollRouteOptions& r,
                   std::optional<uint64_t> position, uint64_t wait_ms, PollFilter filter) {
    req.wait(wait_ms);
    req.hand_over(std::make_unique<PollWaiter>(req, ch, r, position, w.metrics(), std::move(filter)));
}

void answer_or_wait(pipeline::Request& req, Worker& w, sse::Channel& ch, const sse::PollRouteOptions& r,
                    std::optional<uint64_t> position, uint64_t wait_ms, PollFilter filter) {
    PollAnswer a = build_poll_answer(ch, r, position, nullptr, true, filter.get());
    if (a.has_news || wait_ms == 0 || w.draining()) {
        req.respond(200, a.body);
        return;
    }
    wait_for_news(req, w, ch, r, position, wait_ms, std::move(filter));
}

}  // namespace

PollAnswer empty_poll_answer(uint64_t position, bool done) {
    nlohmann::json body;
    body["events"] = nlohmann::json::array();
    body["position"] = position;
    body["done"] = done;
    PollAnswer out;
    out.body = body.dump();
    out.has_news = done;
    return out;
}

PollAnswer build_poll_answer(const sse::Channel& channel, const sse::PollRouteOptions& route,
                             std::optional<uint64_t> position,
                             const std::vector<history::StoredEvent>* older, bool gaps_allowed,
                             const sse::EventFilter* filter) {
    sse::ResumeRequest rr;
    rr.position = position;
    sse::ResumeDecision d = sse::decide_resume(rr, channel.window(route.terminal));
    uint64_t requested = position.value_or(0);
    nlohmann::json body;
    nlohmann::json events = nlohmann::json::array();
    PollAnswer out;
    if (d.action == sse::ResumeDecision::Action::NoContent) return empty_poll_answer(requested, true);
    // After a reset the client's count is void: it polls on from what this answer
    // gives, which is 0 when the new history has nothing yet.
    uint64_t last = d.gap && d.gap->reset ? 0 : requested;
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
            if (event_json(ev, filter, events)) ++n;
            last = ev.position;
            if ((done = sse::is_terminal(route.terminal, ev.type))) break;
        }
        if (first != 0) {
            gap = first > gap->from ? std::optional<sse::Gap>(sse::Gap{gap->from, first - 1}) : std::nullopt;
            next = last == d.gap->to ? d.next : UINT64_MAX;
        }
    }
    const auto& hist = channel.history();
    while (n < route.max_events && !done && next != UINT64_MAX) {
        const history::StoredEvent* ev = hist.first_at_or_after(next);
        // A hole in the history (positions that were never held, like a dropped bad
        // payload). After an event: stop, the next poll reports it as its gap. Before the
        // first: report it now, as SSE does, so no position is ever skipped silently.
        uint64_t hole_end = ev ? ev->position - 1 : hist.head();
        if (hole_end >= next) {
            if (n > 0) break;
            if (!gap) gap = sse::Gap{next, hole_end};
            else if (gap->to + 1 == next) gap->to = hole_end;
            else break;
            next = hole_end + 1;
        }
        if (!ev) break;
        if (event_json(*ev, filter, events)) ++n;
        last = ev->position;
        next = ev->position + 1;
        done = sse::is_terminal(route.terminal, ev->type);
    }
    if (gap && !gaps_allowed) {
        // The broker is away: a gap now may cover events it still holds. Answer nothing
        // new; the client polls again and gets the truth once the broker is back.
        return empty_poll_answer(requested);
    }
    if (gap) {
        body["gap"] = {{"from", gap->from}, {"to", gap->to}};
        if (gap->reset) body["gap"]["reset"] = true;
        out.has_news = true;
        // An evicted-history gap with nothing after it yet: the client has been told about
        // positions up to gap.to and polls on from there, not into the same gap again.
        if (!gap->reset && events.empty() && last < gap->to) last = gap->to;
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

PollWaiter::PollWaiter(pipeline::Request& req, sse::Channel& channel, const sse::PollRouteOptions& route,
                       std::optional<uint64_t> position, admin::WorkerMetrics& metrics,
                       PollFilter filter)
    : req_(req), metrics_(metrics), filter_(std::move(filter)), channel_(&channel), route_(route),
      position_(position) {
    channel.subscribe(*this);
    metrics_.poll_waiting.add(1);
}

PollWaiter::~PollWaiter() { stop_waiting(); }

void PollWaiter::stop_waiting() noexcept {
    if (!channel_) return;
    channel_->unsubscribe(*this);
    channel_ = nullptr;
    metrics_.poll_waiting.add(-1);
}

void PollWaiter::answer(const std::string& body) {
    stop_waiting();
    req_.respond(200, body);  // retires this waiter
}

void PollWaiter::on_channel_event(sse::Channel& channel, const history::StoredEvent&) {
    // Held because this loop is behind the client (it has not received N yet): the
    // events up to N are not news for it.
    if (position_ && channel.history().head() < *position_) return;
    PollAnswer a = build_poll_answer(channel, route_, position_, nullptr, true, filter_.get());
    if (a.has_news) answer(a.body);
}

bool PollWaiter::on_wait_expired() {
    if (!channel_) return true;
    PollAnswer a = position_ && channel_->history().head() < *position_
                       ? empty_poll_answer(*position_)
                       : build_poll_answer(*channel_, route_, position_, nullptr, true, filter_.get());
    answer(a.body);
    return true;
}

void handle_poll(pipeline::Request& conn, const Context& ctx, const router::Match& m) {
    const sse::PollRouteOptions& route = *m.route->route->poll;
    const http::RequestHead& req = conn.head();
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
    const pipeline::FilterChain& chain = ctx.runtime->route_filters[m.index];
    PollFilter filter = chain.filters_events()
                            ? std::make_shared<pipeline::RequestEventFilter>(chain, conn)
                            : nullptr;
    Worker& w = ctx.worker;
    if (!w.broker_ready()) {
        // Broker down: answer from what this loop holds, never wait, and never with a
        // gap: the broker may still hold what this loop lacks (it would be a false gap).
        sse::Channel& ch = w.reader_channel_now(*channel_name);
        if (ch.history().head() > 0)
            conn.respond(200, build_poll_answer(ch, route, position, nullptr, false, filter.get()).body);
        else
            conn.respond(200, empty_poll_answer(position.value_or(0)).body);
        return;
    }
    auto alive = conn.alive();
    pipeline::Request* c = &conn;
    // Routes with event filters show each client its own view of the events.
    const sse::PollRouteOptions* r = &route;
    // Broker replies may come later: pipelined requests wait for this answer.
    conn.wait(10000);
    w.with_channel(*channel_name, [=, &w, name = *channel_name](sse::Channel* ch) {
        if (!alive) return;
        sse::ResumeRequest rr;
        rr.position = position;
        sse::ResumeDecision d = sse::decide_resume(rr, ch->window(r->terminal));
        bool ahead = position && *position > ch->history().head() &&
                     d.action == sse::ResumeDecision::Action::Stream;
        if (ahead && w.can_fetch()) {
            // The client claims more than this loop has: it may have got N from another
            // instance before this loop received it. The broker's history decides, before
            // the claim is taken for a reset.
            uint64_t n = *position;
            w.fetch(name, n, n, [=, &w](std::vector<history::StoredEvent> at_n) {
                if (!alive) return;
                // No reader holds the channel while the broker answers, so the loop may
                // have let it go meanwhile: look it up (or load it) again.
                auto held_n = std::make_shared<std::vector<history::StoredEvent>>(std::move(at_n));
                w.with_channel(name, [=, &w](sse::Channel* again) {
                    if (!alive) return;
                    auto behind = sse::resume_when_loop_behind(n, *held_n, r->terminal);
                    if (!behind || again->history().head() >= n) {
                        answer_or_wait(*c, w, *again, *r, position, wait_ms, filter);
                    } else if (behind->action == sse::ResumeDecision::Action::NoContent) {
                        c->respond(200, empty_poll_answer(n, true).body);
                    } else if (wait_ms == 0 || w.draining()) {
                        c->respond(200, empty_poll_answer(n).body);
                    } else {
                        wait_for_news(*c, w, *again, *r, position, wait_ms, filter);
                    }
                });
            });
            return;
        }
        bool older_than_window = d.gap && !d.gap->reset;  // evicted, maybe still in Redis
        if (older_than_window && w.can_fetch()) {
            // At most max_events positions, computed without overflow (max_events may
            // be as large as the config allows).
            uint64_t span = d.gap->to - d.gap->from;
            uint64_t to = span < r->max_events ? d.gap->to : d.gap->from + (r->max_events - 1);
            w.fetch(name, d.gap->from, to, [=, &w](std::vector<history::StoredEvent> older) {
                if (!alive) return;
                // No reader holds the channel while the broker answers, so the loop may
                // have let it go meanwhile: look it up (or load it) again.
                auto shared = std::make_shared<std::vector<history::StoredEvent>>(std::move(older));
                w.with_channel(name, [=](sse::Channel* again) {
                    if (!alive) return;
                    c->respond(200, build_poll_answer(*again, *r, position, shared.get(), true, filter.get()).body);
                });
            });
            return;
        }
        answer_or_wait(*c, w, *ch, *r, position, wait_ms, filter);
    });
}

}  // namespace sluice::app
