#include "bench/sluice_bench/publisher_redis.h"

#include "bench/sluice_bench/target.h"

namespace sluice::bench {
namespace {

constexpr uint64_t kRetryAfterFailureMs = 250;

}  // namespace

RedisPublisher::RedisPublisher(uv_loop_t* loop, const Options& opt, PublishLedger& ledger,
                               std::string run_id)
    : Publisher(loop, opt, ledger, std::move(run_id)), client_(loop, *this) {
    dest_ = *make_sockaddr(opt.redis.ip, opt.redis.port, opt.redis.ipv6);
    for (uint32_t c = 0; c < opt.channels; ++c)
        channels_.push_back(expand_template(opt.redis_channel, c, c));
    on_reply_ = [this](bool is_error, std::string_view text) {
        if (in_flight_ == 0) return;  // cannot happen with one reply per command
        --in_flight_;
        if (is_error) on_error("redis: " + std::string(text));
        else on_acked();
    };
}

void RedisPublisher::open() {
    client_.open(dest_, std::nullopt);
}

void RedisPublisher::submit(uint32_t ch, uint64_t /*seq*/, std::string_view payload) {
    if (opt_.publish == PublishMode::Fcall)
        append_command(pending_, {"FCALL", "sluice_publish", "1", channels_[ch], payload});
    else
        append_command(pending_, {"PUBLISH", channels_[ch], payload});
    ++pending_count_;
}

void RedisPublisher::flush() {
    if (pending_count_ == 0 || shutting_down_) return;
    if (client_.state() == TcpClient::State::Idle) {
        if (uv_now(loop_) < broken_until_ms_) {
            on_error("redis connection failed recently", pending_count_);
            pending_.clear();
            pending_count_ = 0;
            return;
        }
        reader_ = RespReader();
        client_.open(dest_, std::nullopt);
    }
    if (client_.state() == TcpClient::State::Connecting ||
        client_.state() == TcpClient::State::Connected) {
        client_.write(pending_);
        in_flight_ += pending_count_;
        pending_.clear();
        pending_count_ = 0;
    }
}

void RedisPublisher::on_data(std::string_view bytes) {
    if (!reader_.feed(bytes, on_reply_)) {
        on_error("redis: malformed reply", in_flight_);
        in_flight_ = 0;
        client_.close();
    }
}

void RedisPublisher::on_failed(int status) {
    std::string why = status == UV_EOF ? std::string("redis closed the connection")
                                       : "redis connection: " + uv_error_text(status);
    on_error(why, in_flight_ + pending_count_);
    in_flight_ = 0;
    pending_.clear();
    pending_count_ = 0;
    broken_until_ms_ = uv_now(loop_) + kRetryAfterFailureMs;
}

void RedisPublisher::on_closed() {}

void RedisPublisher::close_transport() {
    shutting_down_ = true;
    client_.close();
}

}  // namespace sluice::bench
