#include "gateway/pipeline/filter.h"

#include "gateway/sse/encode.h"

namespace sluice::pipeline {

// A chain stopped at a suspended filter, waiting for its Resume.
struct SuspendedChain {
    const FilterChain* chain;
    size_t next;  // the filter after the one that suspended
    Request* req;
    AliveToken alive;
    std::function<void()> handler;
    bool resumed = false;
};

void Resume::operator()() {
    if (!state_ || state_->resumed || !state_->alive) return;
    state_->resumed = true;
    state_->req->filter_resumed();
    state_->chain->run_from(state_->next, *state_->req, state_->handler);
}

void FilterChain::add(std::shared_ptr<Filter> filter) {
    unsigned hooks = filter->hooks();
    if (hooks & Filter::OnRequestHead) head_.push_back(filter.get());
    if (hooks & Filter::OnResponseHead) response_.push_back(filter.get());
    if (hooks & Filter::OnEvent) event_.push_back(filter.get());
    if (hooks & Filter::OnClose) close_.push_back(filter.get());
    all_.push_back(std::move(filter));
}

void FilterChain::run(Request& req, const std::function<void()>& handler) const {
    if (head_.empty()) {
        handler();
        return;
    }
    run_from(0, req, handler);
}

void FilterChain::run_from(size_t first, Request& req, const std::function<void()>& handler) const {
    for (size_t i = first; i < head_.size(); ++i) {
        Resume resume;
        resume.state_ = std::make_shared<SuspendedChain>(
            SuspendedChain{this, i + 1, &req, req.alive(), handler});
        switch (head_[i]->on_request_head(req, resume)) {
        case HeadVerdict::Pass: continue;
        case HeadVerdict::Answered: return;
        case HeadVerdict::Suspended:
            // Unless the filter resumed (or answered) before returning: then the rest of
            // the chain has run already, or the request is over.
            if (!resume.state_->resumed && resume.state_->alive) req.filter_suspended();
            return;
        }
    }
    handler();
}

void FilterChain::on_response_head(const Request& req, ResponseHead& head) const {
    for (Filter* f : response_) f->on_response_head(req, head);
}

Headers FilterChain::edit_whole_response(const Request& req, int status, Headers headers) const {
    if (response_.empty()) return headers;
    ResponseHead edited;
    edited.status = status;
    edited.headers = std::move(headers);
    edited.body = BodyEnd::Length;
    on_response_head(req, edited);
    return std::move(edited.headers);
}

bool FilterChain::keep_event(const Request& req, const history::StoredEvent& ev,
                             SharedBytes& bytes) const {
    for (Filter* f : event_) {
        std::string data;
        switch (f->on_event(req, ev, data)) {
        case EventVerdict::Keep: break;
        case EventVerdict::Drop: return false;
        case EventVerdict::Rewrite:
            bytes = make_shared_bytes(
                sse::encode_event(ev.position, sse::event_name_from_encoded(*bytes), data));
            break;
        }
    }
    return true;
}

void FilterChain::on_close(const Request& req) const {
    for (Filter* f : close_) f->on_close(req);
}

}  // namespace sluice::pipeline
