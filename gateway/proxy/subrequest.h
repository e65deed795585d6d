// A request sluice itself sends to an upstream and whose whole (small) answer it wants:
// forward_auth's check. It goes through the same ProxyExchange as a proxied request
// (server choice, pooled connections, the stale keep-alive retry, 502/504), with this
// object standing in for the client: it collects the response head and up to
// `max_body` bytes of its body instead of writing them anywhere.
//
// Owned by the loop's LoopProxy (LoopProxy::subrequest), which cancels the ones still
// running when the worker shuts down. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gateway/core/timer_wheel.h"
#include "gateway/pipeline/request.h"
#include "gateway/proxy/exchange.h"

namespace sluice::proxy {

struct SubrequestAnswer {
    // The upstream answered: its status, end-to-end headers and body (cut at max_body).
    // Otherwise `failed`: 502 (refused, reset, bad response, no server), 504 (timeout)
    // or 503 (sluice is shutting down), and `reason` says why.
    bool failed = false;
    int status = 0;
    std::string reason;
    pipeline::Headers headers;
    std::string body;
    bool body_cut = false;  // the body was longer than max_body
    std::string server;     // the server that answered or failed last ("" if none tried)
};

struct SubrequestSettings {
    ExchangeSettings exchange;       // pool, timeouts, client address, request id, Host
    uint64_t deadline_ms = 5000;     // the whole subrequest, connect to last body byte
    size_t max_body = 4096;
};

using SubrequestDone = std::function<void(SubrequestAnswer)>;

class Subrequest final : public pipeline::Request {
  public:
    // `finished` runs once, at the end of the loop turn the answer is complete in (never
    // inside start()), after which the owner destroys this object.
    Subrequest(http::RequestHead head, SubrequestSettings settings,
               std::function<void(Subrequest&)> finished);
    ~Subrequest();

    void start();
    // Ends it now with a failure `status` (the loop is shutting down).
    void cancel(int status, std::string_view reason);
    SubrequestAnswer take_answer() { return std::move(answer_); }

    // pipeline::Request: what ProxyExchange calls on "its client".
    const http::RequestHead& head() const override { return head_; }
    const std::string& body() const override { return no_body_; }
    pipeline::RequestBody body_kind() const override { return pipeline::RequestBody::None; }
    bool body_complete() const override { return true; }
    const std::string& remote() const override { return settings_.exchange.client_address; }
    uint64_t now_ms() const override;
    void respond(int status, std::string_view body, std::string_view content_type,
                 pipeline::Headers headers) override;
    void start_response(pipeline::ResponseHead head) override;
    void write(SharedBytes bytes) override;
    void end_response() override;
    uint64_t unsent_bytes() const override { return 0; }
    uint64_t refused_bytes() const override { return 0; }
    uint64_t high_water() const override { return settings_.exchange.high_water; }
    uint64_t low_water() const override { return settings_.exchange.low_water; }
    void close(pipeline::CloseMode mode, sse::CloseReason why) override;
    void close_at(uint64_t, sse::CloseReason) override {}
    void wait(uint64_t) override {}
    void hand_over(std::unique_ptr<pipeline::Responder>) override {}
    pipeline::Responder* responder() override { return nullptr; }
    void pause_reading() override {}
    void resume_reading() override {}
    pipeline::AliveToken alive() const override { return life_.token(); }
    void set_filters(const pipeline::FilterChain*) override {}
    void set_route_label(std::string) override {}
    void set_stream_channel(std::string) override {}
    const std::string& request_id() override { return settings_.exchange.request_id; }
    void set_upstream(std::string server) override { answer_.server = std::move(server); }

  private:
    void fail(int status, std::string_view reason);
    void finish();
    static void deadline_cb(void* self) noexcept;
    TimerWheel& wheel() const;

    http::RequestHead head_;
    SubrequestSettings settings_;
    std::function<void(Subrequest&)> finished_;
    std::unique_ptr<ProxyExchange> exchange_;
    SubrequestAnswer answer_;
    TimerWheel::Entry deadline_;
    bool done_ = false;
    Lifetime life_;
    const std::string no_body_;
};

}  // namespace sluice::proxy
