// HTTP transport of the publisher: POST <publish-url with {c}> with the payload as body,
// over --publish-connections keep-alive connections. Channel c always uses connection
// c % P and requests on one connection are answered in order, so each channel's events reach
// the server in sequence order. Requests are pipelined up to kPipelineDepth per connection.
// Works against sluice (POST /_sluice/publish/{channel}) and peers with a similar endpoint.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "bench/sluice_bench/http_response.h"
#include "bench/sluice_bench/publisher.h"
#include "bench/sluice_bench/tcp_client.h"

namespace sluice::bench {

class HttpPublisher final : public Publisher {
public:
    static constexpr uint64_t kPipelineDepth = 16;
    static constexpr uint64_t kMaxUnanswered = 65536;

    HttpPublisher(uv_loop_t* loop, const Options& opt, PublishLedger& ledger, std::string run_id);
    ~HttpPublisher() override;

protected:
    void open() override;
    bool can_accept() const override { return unanswered_ < kMaxUnanswered; }
    void submit(uint32_t ch, uint64_t seq, std::string_view payload) override;
    void flush() override;
    uint64_t unanswered() const override { return unanswered_; }
    void close_transport() override;

private:
    class Conn;
    friend class Conn;

    std::vector<std::unique_ptr<Conn>> conns_;
    std::vector<std::string> heads_;  // per channel: request head up to "Content-Length: "
    sockaddr_storage dest_{};
    uint64_t unanswered_ = 0;
    bool shutting_down_ = false;
};

}  // namespace sluice::bench
