// Filters: the per-route chain a request passes through before its handler, and the hooks
// around its answer. Built once when the config loads (app/runtime), read-only afterwards,
// shared by every loop. Built-ins live beside the module they guard (the publish token:
// app/publish_auth.*); plugins (plugins/) will add theirs through the same interface.
//
//   request head --> [head filters: pass | answer | suspend ... resume] --> handler
//   answer head  --> [response-head filters: edit headers] --> wire
//   each event   --> [event filters (sse, poll): keep | drop | rewrite, per subscriber]
//   request end  --> [close hooks]
//
// A chain keeps one list per hook holding only the filters that implement it, so a route
// without filters (or without event filters) runs no filter code on that path: the
// handler is called directly and the stream's delivery path has no filter at all.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/history/channel_history.h"
#include "gateway/pipeline/request.h"
#include "gateway/sse/sse_stream.h"

namespace sluice::pipeline {

enum class HeadVerdict {
    Pass,       // go on to the next filter, then the handler
    Answered,   // the filter answered the request: the chain stops
    Suspended,  // the filter calls its Resume later (async work), or answers then
};

enum class EventVerdict { Keep, Drop, Rewrite };

// Continues a suspended chain on the request's loop. Calling it after the request has
// ended (answered, or the client left) does nothing; calling it twice runs the rest once.
class Resume {
  public:
    void operator()();

  private:
    friend class FilterChain;
    std::shared_ptr<struct SuspendedChain> state_;
};

class Filter {
  public:
    enum Hook : unsigned { OnRequestHead = 1, OnResponseHead = 2, OnEvent = 4, OnClose = 8 };

    virtual ~Filter() = default;
    virtual std::string_view name() const = 0;
    // The hooks this filter implements (a mask of Hook): the chain calls only those.
    virtual unsigned hooks() const = 0;

    virtual HeadVerdict on_request_head(Request& /*req*/, Resume /*resume*/) {
        return HeadVerdict::Pass;
    }
    virtual void on_response_head(const Request& /*req*/, ResponseHead& /*head*/) {}
    // One event for one subscriber of an sse or poll route. Rewrite: `data` holds the
    // payload the subscriber gets instead (sluice re-encodes it with the same id).
    virtual EventVerdict on_event(const Request& /*req*/, const history::StoredEvent& /*ev*/,
                                  std::string& /*data*/) {
        return EventVerdict::Keep;
    }
    virtual void on_close(const Request& /*req*/) {}
};

class FilterChain {
  public:
    void add(std::shared_ptr<Filter> filter);
    bool empty() const { return all_.empty(); }
    bool filters_requests() const { return !head_.empty(); }
    bool filters_events() const { return !event_.empty(); }
    bool edits_response_heads() const { return !response_.empty(); }
    bool has_close_hooks() const { return !close_.empty(); }
    const std::vector<std::shared_ptr<Filter>>& filters() const { return all_; }

    // Runs the request-head filters, then `handler` if every one passed. With no head
    // filters the handler runs at once and nothing is allocated.
    void run(Request& req, const std::function<void()>& handler) const;
    void on_response_head(const Request& req, ResponseHead& head) const;
    // The same for a whole response made at once (status, headers, a body of known length):
    // the headers after every response-head filter has seen them. What each carrier
    // (HTTP/1.1 connection, HTTP/2 stream) calls from respond().
    Headers edit_whole_response(const Request& req, int status, Headers headers) const;
    // False: drop `ev` for this subscriber. `bytes` may be replaced by a rewrite.
    bool keep_event(const Request& req, const history::StoredEvent& ev, SharedBytes& bytes) const;
    void on_close(const Request& req) const;

  private:
    friend class Resume;
    void run_from(size_t first, Request& req, const std::function<void()>& handler) const;

    std::vector<std::shared_ptr<Filter>> all_;
    std::vector<Filter*> head_, response_, event_, close_;
};

// The event filters of a chain bound to one subscriber's request: what an SseStream (or a
// poll answer) consults per event. Only streams on routes with event filters get one.
class RequestEventFilter final : public sse::EventFilter {
  public:
    RequestEventFilter(const FilterChain& chain, const Request& req) : chain_(chain), req_(req) {}
    bool keep(const history::StoredEvent& ev, SharedBytes& bytes) const override {
        return chain_.keep_event(req_, ev, bytes);
    }

  private:
    const FilterChain& chain_;
    const Request& req_;
};

}  // namespace sluice::pipeline
