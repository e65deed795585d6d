// The filter chain through a FakeRequest: head filters pass, answer or suspend and resume;
// response-head, event and close hooks; and the publish token as a filter.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gateway/app/publish_auth.h"
#include "gateway/pipeline/filter.h"
#include "gateway/sse/encode.h"
#include "tests/unit/support/fake_request.h"

using namespace sluice;
using pipeline::EventVerdict;
using pipeline::HeadVerdict;
using sluice::testing::FakeRequest;

namespace {

// A filter whose head verdict, header edit and event verdict a test sets; it records what
// it saw in a shared log.
struct ScriptedFilter final : pipeline::Filter {
    std::string id;
    std::vector<std::string>* log;
    unsigned mask = OnRequestHead;
    HeadVerdict verdict = HeadVerdict::Pass;
    pipeline::Resume* keep_resume = nullptr;
    EventVerdict event_verdict = EventVerdict::Keep;
    uint64_t drop_position = 0;

    ScriptedFilter(std::string i, std::vector<std::string>* l) : id(std::move(i)), log(l) {}
    std::string_view name() const override { return id; }
    unsigned hooks() const override { return mask; }
    HeadVerdict on_request_head(pipeline::Request& req, pipeline::Resume resume) override {
        log->push_back(id + ":head");
        if (verdict == HeadVerdict::Answered) req.respond_error(403, "refused by " + id);
        if (verdict == HeadVerdict::Suspended && keep_resume) *keep_resume = resume;
        return verdict;
    }
    void on_response_head(const pipeline::Request&, pipeline::ResponseHead& head) override {
        head.headers.emplace_back("X-Filtered-By", id);
    }
    EventVerdict on_event(const pipeline::Request&, const history::StoredEvent& ev,
                          std::string& data) override {
        if (ev.position == drop_position) return EventVerdict::Drop;
        if (event_verdict == EventVerdict::Rewrite) data = "rewritten by " + id;
        return event_verdict;
    }
    void on_close(const pipeline::Request&) override { log->push_back(id + ":close"); }
};

history::StoredEvent event(uint64_t pos, const std::string& name, const std::string& payload) {
    history::StoredEvent ev;
    ev.position = pos;
    ev.encoded = make_shared_bytes(sse::encode_event(pos, name, payload));
    return ev;
}

}  // namespace

TEST_CASE("a chain without head filters calls the handler at once", "[pipeline][filter]") {
    pipeline::FilterChain chain;
    FakeRequest req;
    int calls = 0;
    chain.run(req, [&] { ++calls; });
    CHECK(calls == 1);
    CHECK_FALSE(chain.filters_requests());
    CHECK_FALSE(chain.filters_events());
}

TEST_CASE("head filters run in order; one that answers stops the chain", "[pipeline][filter]") {
    std::vector<std::string> log;
    auto a = std::make_shared<ScriptedFilter>("a", &log);
    auto b = std::make_shared<ScriptedFilter>("b", &log);
    auto c = std::make_shared<ScriptedFilter>("c", &log);
    pipeline::FilterChain chain;
    chain.add(a);
    chain.add(b);
    chain.add(c);
    FakeRequest req;
    int calls = 0;
    chain.run(req, [&] { ++calls; });
    CHECK(log == std::vector<std::string>{"a:head", "b:head", "c:head"});
    CHECK(calls == 1);

    log.clear();
    b->verdict = HeadVerdict::Answered;
    FakeRequest refused;
    chain.run(refused, [&] { ++calls; });
    CHECK(log == std::vector<std::string>{"a:head", "b:head"});
    CHECK(calls == 1);  // the handler did not run again
    CHECK(refused.status == 403);
}

TEST_CASE("a suspended filter resumes the chain once, and not after the request ended",
          "[pipeline][filter]") {
    std::vector<std::string> log;
    auto slow = std::make_shared<ScriptedFilter>("slow", &log);
    auto next = std::make_shared<ScriptedFilter>("next", &log);
    pipeline::Resume resume;
    slow->verdict = HeadVerdict::Suspended;
    slow->keep_resume = &resume;
    pipeline::FilterChain chain;
    chain.add(slow);
    chain.add(next);

    FakeRequest req;
    int calls = 0;
    chain.run(req, [&] { ++calls; });
    CHECK(log == std::vector<std::string>{"slow:head"});
    CHECK(calls == 0);  // waiting for the async work
    resume();
    CHECK(log == std::vector<std::string>{"slow:head", "next:head"});
    CHECK(calls == 1);
    resume();  // a second resume runs nothing
    CHECK(calls == 1);

    FakeRequest gone;
    chain.run(gone, [&] { ++calls; });
    gone.close(pipeline::CloseMode::Abort, sse::CloseReason::Client);  // the client left
    resume();
    CHECK(calls == 1);
}

TEST_CASE("response-head filters edit the head; close hooks run", "[pipeline][filter]") {
    std::vector<std::string> log;
    auto f = std::make_shared<ScriptedFilter>("h", &log);
    f->mask = pipeline::Filter::OnResponseHead | pipeline::Filter::OnClose;
    pipeline::FilterChain chain;
    chain.add(f);
    CHECK_FALSE(chain.filters_requests());
    CHECK(chain.edits_response_heads());
    FakeRequest req;
    pipeline::ResponseHead head;
    chain.on_response_head(req, head);
    REQUIRE(head.headers.size() == 1);
    CHECK(head.headers[0] == std::pair<std::string, std::string>{"X-Filtered-By", "h"});
    chain.on_close(req);
    CHECK(log == std::vector<std::string>{"h:close"});
}

TEST_CASE("event filters keep, drop or rewrite an event for one subscriber", "[pipeline][filter]") {
    std::vector<std::string> log;
    auto f = std::make_shared<ScriptedFilter>("ev", &log);
    f->mask = pipeline::Filter::OnEvent;
    f->drop_position = 2;
    pipeline::FilterChain chain;
    chain.add(f);
    REQUIRE(chain.filters_events());
    FakeRequest req;
    pipeline::RequestEventFilter view(chain, req);

    history::StoredEvent one = event(1, "progress", "{\"p\":1}");
    SharedBytes bytes = one.encoded;
    CHECK(view.keep(one, bytes));
    CHECK(bytes == one.encoded);  // kept as is: the shared bytes, not a copy

    history::StoredEvent two = event(2, "", "secret");
    bytes = two.encoded;
    CHECK_FALSE(view.keep(two, bytes));

    f->event_verdict = EventVerdict::Rewrite;
    bytes = one.encoded;
    CHECK(view.keep(one, bytes));
    CHECK(*bytes == "id: 1\nevent: progress\ndata: rewritten by ev\n\n");
    CHECK(*one.encoded == "id: 1\nevent: progress\ndata: {\"p\":1}\n\n");  // others unaffected
}

TEST_CASE("the publish token filter: 401 without a token, 403 with a wrong one", "[pipeline][publish]") {
    app::PublishTokenFilter filter("s3cret");
    auto post = [](std::vector<http::Header> headers) {
        auto req = std::make_unique<FakeRequest>();
        req->request.method = "POST";
        req->request.headers = std::move(headers);
        return req;
    };
    auto none = post({});
    CHECK(filter.on_request_head(*none, {}) == HeadVerdict::Answered);
    CHECK(none->status == 401);
    REQUIRE(none->header("WWW-Authenticate"));

    auto wrong = post({{"Authorization", "Bearer s3cre7"}});
    CHECK(filter.on_request_head(*wrong, {}) == HeadVerdict::Answered);
    CHECK(wrong->status == 403);

    auto shorter = post({{"Authorization", "Bearer s3c"}});
    CHECK(filter.on_request_head(*shorter, {}) == HeadVerdict::Answered);
    CHECK(shorter->status == 403);

    auto right = post({{"Authorization", "bearer s3cret"}});
    CHECK(filter.on_request_head(*right, {}) == HeadVerdict::Pass);
    CHECK(right->status == 0);

    FakeRequest get;  // other methods pass: the handler answers them 405
    get.request.method = "GET";
    CHECK(filter.on_request_head(get, {}) == HeadVerdict::Pass);
}
