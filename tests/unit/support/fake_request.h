// A pipeline::Request with no connection under it: it records what a handler or
// responder answers, so they can be tested without a socket (and with no HTTP/1.1).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "gateway/pipeline/request.h"

namespace sluice::testing {

class FakeRequest final : public pipeline::Request {
  public:
    http::RequestHead request;
    std::string request_body;
    pipeline::RequestBody request_body_kind = pipeline::RequestBody::None;
    bool request_complete = true;
    std::string remote_address = "127.0.0.1";
    uint64_t clock_ms = 0;
    uint64_t unsent = 0;   // what unsent_bytes() reports (a test sets it)
    uint64_t refused = 0;
    uint64_t high = 256 * 1024;

    // What was answered.
    int status = 0;
    std::string reason;
    pipeline::Headers headers;
    std::optional<pipeline::BodyEnd> body_end;  // set by start_response
    std::string sent;                           // respond()'s body or the written bytes
    bool ended = false;                         // respond() or end_response()
    std::optional<pipeline::CloseMode> closed;
    sse::CloseReason close_reason = sse::CloseReason::Client;
    std::optional<uint64_t> waiting_ms;
    std::optional<uint64_t> close_deadline_ms;  // close_at()
    sse::CloseReason close_at_reason = sse::CloseReason::Client;
    int pauses = 0;
    std::string route_label, stream_channel;

    const std::string* header(std::string_view name) const {
        for (const auto& [n, v] : headers)
            if (n == name) return &v;
        return nullptr;
    }

    const http::RequestHead& head() const override { return request; }
    const std::string& body() const override { return request_body; }
    pipeline::RequestBody body_kind() const override { return request_body_kind; }
    bool body_complete() const override { return request_complete; }
    const std::string& remote() const override { return remote_address; }
    uint64_t now_ms() const override { return clock_ms; }
    void respond(int s, std::string_view b, std::string_view content_type,
                 pipeline::Headers h) override {
        status = s;
        sent = std::string(b);
        headers = std::move(h);
        if (!b.empty()) headers.emplace_back("Content-Type", std::string(content_type));
        finish_request();
    }
    void start_response(pipeline::ResponseHead h) override {
        status = h.status;
        reason = h.reason;
        headers = std::move(h.headers);
        body_end = h.body;
    }
    void write(SharedBytes bytes) override {
        if (body_end != pipeline::BodyEnd::None) sent += *bytes;
    }
    using pipeline::Request::write;
    void end_response() override { finish_request(); }
    uint64_t unsent_bytes() const override { return unsent; }
    uint64_t refused_bytes() const override { return refused; }
    uint64_t high_water() const override { return high; }
    uint64_t low_water() const override { return high / 4; }
    void close(pipeline::CloseMode mode, sse::CloseReason why) override {
        if (closed) return;
        closed = mode;
        close_reason = why;
        life_->end();
        if (responder_) responder_->on_close();
    }
    void close_at(uint64_t deadline_ms, sse::CloseReason why) override {
        close_deadline_ms = deadline_ms;
        close_at_reason = why;
    }
    void wait(uint64_t timeout_ms) override { waiting_ms = timeout_ms; }
    void hand_over(std::unique_ptr<pipeline::Responder> r) override {
        retire();
        responder_ = std::move(r);
    }
    pipeline::Responder* responder() override { return responder_.get(); }
    void pause_reading() override { ++pauses; }
    void resume_reading() override { --pauses; }
    pipeline::AliveToken alive() const override { return life_->token(); }
    void set_route_label(std::string label) override { route_label = std::move(label); }
    void set_stream_channel(std::string channel) override { stream_channel = std::move(channel); }
    void set_filters(const pipeline::FilterChain* chain) override { filters = chain; }
    const std::string& request_id() override { return id; }
    void set_upstream(std::string server) override { upstream = std::move(server); }
    std::string id = "test-request", upstream;
    const pipeline::FilterChain* filters = nullptr;

  private:
    void finish_request() {
        ended = true;
        life_->end();
        retire();
    }
    // Like a real carrier, a responder is never destroyed inside its own call.
    void retire() {
        if (responder_) retired_.push_back(std::move(responder_));
    }

    // On the heap so a test may return a FakeRequest by value (a Lifetime never moves).
    std::unique_ptr<Lifetime> life_ = std::make_unique<Lifetime>();
    std::unique_ptr<pipeline::Responder> responder_;
    std::vector<std::unique_ptr<pipeline::Responder>> retired_;
};

}  // namespace sluice::testing
