// Redis transport of the publisher: one connection, commands pipelined over it in RESP, one
// reply expected per command. Mode redis sends PUBLISH <channel> <payload>; mode fcall sends
// FCALL sluice_publish 1 <channel> <payload> (sluice's sequenced publish, docs/publishing.md).
// No AUTH: the target is a local test Redis.
#pragma once

#include <string>
#include <vector>

#include "bench/sluice_bench/publisher.h"
#include "bench/sluice_bench/resp.h"
#include "bench/sluice_bench/tcp_client.h"

namespace sluice::bench {

class RedisPublisher final : public Publisher, private TcpClient::Listener {
public:
    static constexpr uint64_t kMaxUnanswered = 65536;

    RedisPublisher(uv_loop_t* loop, const Options& opt, PublishLedger& ledger,
                   std::string run_id);

protected:
    void open() override;
    bool can_accept() const override { return unanswered() < kMaxUnanswered; }
    void submit(uint32_t ch, uint64_t seq, std::string_view payload) override;
    void flush() override;
    uint64_t unanswered() const override { return in_flight_ + pending_count_; }
    void close_transport() override;

private:
    void on_connected() override {}
    void on_data(std::string_view bytes) override;
    void on_failed(int status) override;
    void on_closed() override;

    TcpClient client_;
    RespReader reader_;
    RespReader::ReplyFn on_reply_;
    sockaddr_storage dest_{};
    std::vector<std::string> channels_;  // Redis channel name per channel index
    std::string pending_;                // encoded commands not yet handed to the socket
    uint64_t pending_count_ = 0;
    uint64_t in_flight_ = 0;             // written, not yet answered
    uint64_t broken_until_ms_ = 0;
    bool shutting_down_ = false;
};

}  // namespace sluice::bench
