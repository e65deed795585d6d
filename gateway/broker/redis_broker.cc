#include "gateway/broker/redis_broker.h"

#include <algorithm>

#include "gateway/broker/cluster_client.h"
#include "gateway/broker/payload_rules.h"
#include "gateway/broker/redis_functions.h"
#include "gateway/broker/redis_url.h"
#include "gateway/core/log.h"
#include "gateway/core/position.h"

namespace sluice::broker {

namespace {
constexpr uint64_t kFetchBatch = 1000;  // events per XRANGE round trip
// Loads repeated while pub/sub has not brought a restart of the count that GET already
// shows: one loopback round trip each, and the restart is normally there after one.
constexpr int kRestartRetries = 100;
}  // namespace

// Events read back from Redis history obey the same payload rules as live ones: a bad
// one is left out, and its position becomes a gap for the client.
std::vector<Message> RedisBroker::to_messages(const std::string& channel,
                                              std::vector<LogEntry> events) {
    std::vector<Message> out;
    out.reserve(events.size());
    for (auto& e : events) {
        PayloadProblem problem = check_event(e.payload, e.event, max_event_size_);
        if (problem != PayloadProblem::None) {
            count_drop(counters_, problem);
            continue;
        }
        Message m;
        m.channel = channel;
        m.position = e.position;
        m.event = std::move(e.event);
        m.payload = std::move(e.payload);
        out.push_back(std::move(m));
    }
    return out;
}

RedisBroker::RedisBroker(uv_loop_t* loop, MemoryHub& hub, const BrokerOptions& cfg,
                         uint64_t max_event_size, BrokerCounters& counters,
                         unsigned worker_index, ChannelInterest* interest)
    : loop_(loop), inbox_(loop, hub), cfg_(cfg), max_event_size_(max_event_size),
      counters_(counters), worker_index_(worker_index), interest_(interest) {}

RedisBroker::~RedisBroker() { life_.end(); }

void RedisBroker::start(Listener& listener) {
    inbox_.start(listener);
    BackoffPolicy backoff{cfg_.reconnect_min, cfg_.reconnect_max};
    std::string name = "worker-" + std::to_string(worker_index_);
    std::string error;
    if (cfg_.type == BrokerType::RedisCluster) {
        ClusterClient::Options opts;
        for (const auto& url : cfg_.nodes)
            if (auto ep = parse_redis_url(url, &error)) opts.seeds.push_back(*ep);  // validated by config
        opts.backoff = backoff;
        opts.name = name;
        cmd_ = std::make_unique<ClusterClient>(loop_, std::move(opts));
        post_ = LoopPost::create(loop_);
    } else {
        auto ep = parse_redis_url(cfg_.url, &error);  // validated by the config loader
        cmd_ = std::make_unique<SingleRedisCommands>(loop_, ep.value_or(RedisEndpoint{}), backoff, name);
    }
    RedisCommands::Callbacks cb;
    cb.on_ready = [this] {
        std::vector<std::function<void()>> waiting;
        waiting.swap(waiting_for_link_);
        for (auto& fn : waiting) fn();
    };
    cmd_->start(std::move(cb));
    listener.on_broker_ready(inbox_.hub().ready());
}

void RedisBroker::when_connected(std::function<void()> fn) {
    if (cmd_->ready()) fn();
    else waiting_for_link_.push_back(std::move(fn));
}

void RedisBroker::stop(std::function<void()> done) {
    life_.end();
    waiting_for_link_.clear();
    cmd_->stop([this, done] {
        if (!post_) return inbox_.stop(done);
        post_->close([this, done] { inbox_.stop(done); });
    });
}

bool RedisBroker::ready() const { return inbox_.hub().ready(); }

void RedisBroker::publish(const std::string& channel, const std::string& payload,
                          const std::string& event, PublishCallback cb) {
    // Answered before Redis stores anything: an event this process could not keep is
    // refused rather than acknowledged. (A channel that fills up while the FCALL is on
    // its way still has the event in Redis history: readers get it by backfill.)
    if (!inbox_.hub().admits(channel)) {
        cb(Result<uint64_t>(Error{Errc::Overloaded, "channel limit reached"}));
        return;
    }
    auto alive = life_.token();
    cmd_->send(seq_key(cfg_.key_prefix, channel), fcall_publish_argv(channel, payload, event),
               [this, alive, cb](const RedisValue& reply) {
        // Redis integers are signed 64-bit, so any positive one is within kMaxPosition;
        // checked anyway, as every position that enters sluice is.
        if (reply.type == RedisValue::Type::Integer && reply.integer > 0 &&
            valid_position(static_cast<uint64_t>(reply.integer))) {
            cb(Result<uint64_t>(static_cast<uint64_t>(reply.integer)));
            return;
        }
        if (alive) counters_.publish_errors.add(1);
        cb(Result<uint64_t>(Error{Errc::Unavailable, reply.is_error() ? reply.str : "unexpected reply"}));
    });
}

void RedisBroker::open_channel(const std::string& channel, std::function<void(ChannelSeed)> cb) {
    if (!interest_) return load_channel(channel, std::move(cb), kRestartRetries);
    // Cluster: loaded once the feed hears the channel, so nothing published between the
    // load and the subscription is missed. This hold lasts until the seed is handed over
    // (the loop's own, channel_opened, starts in cb).
    auto alive = life_.token();
    std::weak_ptr<LoopPost> post = post_;
    interest_->acquire(channel, [this, alive, post, channel, cb] {
        auto p = post.lock();
        if (!p) return;
        p->post([this, alive, channel, cb] {
            if (!alive) return;
            load_channel(channel, [this, channel, cb](ChannelSeed seed) {
                cb(std::move(seed));
                interest_->release(channel);
            }, kRestartRetries);
        });
    });
}

void RedisBroker::load_channel(const std::string& channel, std::function<void(ChannelSeed)> cb,
                               int retries) {
    if (!cmd_->ready()) {
        when_connected([this, channel, cb, retries] { load_channel(channel, cb, retries); });
        return;
    }
    uint64_t hub_head = inbox_.deliver_pending_and_head(channel);
    auto alive = life_.token();
    // Where Redis stands for this channel: its position counter, then its newest events.
    cmd_->send(seq_key(cfg_.key_prefix, channel), {"GET", seq_key(cfg_.key_prefix, channel)},
               [=, this](const RedisValue& seq) {
        if (!alive) return;
        auto parsed = parse_seq_reply(seq);
        if (!parsed) {
            // Not a counter the function wrote (a position above 2^53-1, or not a number):
            // trusting it would wrap position arithmetic. The channel is served from what
            // this process knows; live events still arrive.
            log::error("channel counter in redis is not a valid position; ignored",
                       {{"channel", channel},
                        {"key", seq_key(cfg_.key_prefix, channel)},
                        {"value", seq.type == RedisValue::Type::String ? seq.str.substr(0, 40)
                                                                       : std::string("?")}});
            cb(ChannelSeed{hub_head, {}});
            return;
        }
        uint64_t redis_head = *parsed;
        if (redis_head == 0) {
            cb(ChannelSeed{hub_head, {}});  // a plain channel, or one Redis never saw
            return;
        }
        if (restart_in_flight(hub_head, redis_head) && retries > 0) {
            // Seeding the new count now would race the hub's reset: the loop would take
            // the old head (and skip the new events up to it), or hear the reset after
            // the new events and tell its readers twice. Load again once the hub (and
            // this loop, through deliver_pending_and_head) has it.
            load_channel(channel, cb, retries - 1);
            return;
        }
        uint64_t count = std::min<uint64_t>(cfg_.history.max_events, kFetchBatch);
        cmd_->send(log_key(cfg_.key_prefix, channel),
                   {"XREVRANGE", log_key(cfg_.key_prefix, channel), "+", "-", "COUNT", std::to_string(count)},
                      [=, this](const RedisValue& reply) {
                          if (!alive) return;
                          auto events = parse_xrange_reply(reply);
                          std::reverse(events.begin(), events.end());
                          inbox_.hub().note_sequenced_head(channel, redis_head);
                          ChannelSeed seed;
                          // Within one count the larger is the newer. If the restart never
                          // came (retries spent) the counter is the truth.
                          seed.head = restart_in_flight(hub_head, redis_head)
                                          ? redis_head
                                          : std::max(hub_head, redis_head);
                          seed.recent = to_messages(channel, std::move(events));
                          cb(std::move(seed));
                      }, RedisCommands::Retry::UntilSent);
    }, RedisCommands::Retry::UntilSent);
}

void RedisBroker::fetch_range(const std::string& channel, uint64_t from, uint64_t to,
                              std::function<void(std::vector<Message>)> cb) {
    if (!cmd_->ready()) {
        when_connected([this, channel, from, to, cb] { fetch_range(channel, from, to, cb); });
        return;
    }
    auto alive = life_.token();
    cmd_->send(log_key(cfg_.key_prefix, channel), xrange_argv(cfg_.key_prefix, channel, from, to, kFetchBatch),
               [=, this](const RedisValue& reply) {
                   auto events = parse_xrange_reply(reply);
                   if (alive) counters_.recovered.add(static_cast<int64_t>(events.size()));
                   cb(to_messages(channel, std::move(events)));
               }, RedisCommands::Retry::UntilSent);
}

}  // namespace sluice::broker
