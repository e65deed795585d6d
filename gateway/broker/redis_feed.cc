#include "gateway/broker/redis_feed.h"

#include <algorithm>

#include "gateway/broker/cluster_client.h"
#include "gateway/broker/pattern_subscription.h"
#include "gateway/broker/payload_rules.h"
#include "gateway/broker/redis_url.h"
#include "gateway/broker/sharded_subscription.h"
#include "gateway/core/log.h"

namespace sluice::broker {

namespace {
constexpr uint64_t kCatchUpBatch = 1000;  // XRANGE COUNT per round trip
// A cluster's slot map is read this often, so a failover moves subscriptions soon even
// when no node tells us.
constexpr std::chrono::milliseconds kFeedMapRefresh{1000};

std::vector<RedisEndpoint> endpoints(const std::vector<std::string>& urls) {
    std::vector<RedisEndpoint> out;
    for (const auto& url : urls) {
        std::string error;
        if (auto ep = parse_redis_url(url, &error)) out.push_back(*ep);  // validated by config
    }
    return out;
}
}  // namespace

RedisFeed::RedisFeed(uv_loop_t* loop, MemoryHub& hub, const BrokerOptions& cfg,
                     uint64_t max_event_size, std::vector<std::string> patterns,
                     BrokerCounters& counters)
    : loop_(loop), hub_(hub), cfg_(cfg), max_event_size_(max_event_size), counters_(counters) {
    BackoffPolicy backoff{cfg_.reconnect_min, cfg_.reconnect_max};
    if (cfg_.type == BrokerType::RedisCluster) {
        ClusterClient::Options opts;
        opts.seeds = endpoints(cfg_.nodes);
        opts.backoff = backoff;
        opts.name = "feed-commands";
        opts.refresh_every = kFeedMapRefresh;
        auto client = std::make_unique<ClusterClient>(loop_, std::move(opts));
        auto sharded = std::make_unique<ShardedSubscription>(loop_, *client, backoff, cfg_.key_prefix);
        ShardedSubscription* sub = sharded.get();
        client->set_on_map_read([sub](bool) { sub->on_map_read(); });
        interest_ = sub;
        cmd_ = std::move(client);
        sub_ = std::move(sharded);
        (void)patterns;  // sharded pub/sub has no patterns: the loops' channels are subscribed
    } else {
        std::string error;
        RedisEndpoint ep = parse_redis_url(cfg_.url, &error).value_or(RedisEndpoint{});
        cmd_ = std::make_unique<SingleRedisCommands>(loop_, ep, backoff, "feed-commands");
        sub_ = std::make_unique<PatternSubscription>(loop_, ep, backoff, cfg_.key_prefix, std::move(patterns));
    }
}

RedisFeed::~RedisFeed() = default;

void RedisFeed::start() {
    FeedSubscription::Callbacks sub_cb;
    sub_cb.on_ready = [this] { on_sub_ready(); };
    sub_cb.on_down = [this](const std::string& why) { on_down(why); };
    sub_cb.on_message = [this](const std::string& channel, const std::string& data, bool sequenced) {
        if (sequenced) on_sequenced_message(channel, data);
        else on_plain(channel, data);
    };
    sub_cb.on_count = [this] { counters_.subscriptions.set(static_cast<int64_t>(sub_->count())); };
    RedisCommands::Callbacks cmd_cb;
    cmd_cb.on_ready = [this] { load_functions(); };
    cmd_cb.on_down = [this](const std::string&) { functions_loaded_ = false; };
    hub_.set_ready(false);
    sub_->start(std::move(sub_cb));
    cmd_->start(std::move(cmd_cb));
}

void RedisFeed::stop(std::function<void()> done) {
    // Both close their handles asynchronously; done runs after the second.
    auto remaining = std::make_shared<int>(2);
    auto one = [remaining, done] {
        if (--*remaining == 0 && done) done();
    };
    sub_->stop(one);
    cmd_->stop(one);
}

void RedisFeed::set_patterns(std::vector<std::string> patterns) {
    sub_->set_patterns(std::move(patterns));
    counters_.subscriptions.set(static_cast<int64_t>(sub_->count()));
}

void RedisFeed::on_sub_ready() {
    if (connected_once_) counters_.reconnects.add(1);
    connected_once_ = true;
    catch_up_begun_ = false;
    counters_.subscriptions.set(static_cast<int64_t>(sub_->count()));
    maybe_ready();
}

void RedisFeed::on_down(const std::string& why) {
    if (hub_.ready()) log::warn("redis subscription lost; streams are held", {{"error", why}});
    catch_up_begun_ = false;
    // The catch-up under way is abandoned: its reads still in flight must not act (a tip
    // check would rewind the channel a second time beside the next catch-up's, a repair
    // would flush that one's buffer early). The next catch-up reads again from the head.
    ++catch_up_epoch_;
    repairing_.clear();
    checking_tip_.clear();
    hub_.set_ready(false);
}

void RedisFeed::load_functions() {
    // Loaded on every connect: an empty Redis (restarted, failed over) gets it back.
    std::string lib = sluice_function_library(cfg_.key_prefix, cfg_.history.max_events, cfg_.history.ttl,
                                              cfg_.history.positions_ttl,
                                              cfg_.type == BrokerType::RedisCluster);
    // In a cluster on every master: each runs the function for the channels of its slots.
    cmd_->on_every_master(function_load_argv(lib), [this](const RedisValue& reply) {
        if (reply.is_error()) {
            log::error("cannot load the sluice function library", {{"error", reply.str}});
            return;
        }
        functions_loaded_ = true;
        maybe_ready();
    });
}

void RedisFeed::maybe_ready() {
    if (catch_up_begun_ || !functions_loaded_ || !sub_->ready()) return;
    catch_up();
}

void RedisFeed::catch_up() {
    catch_up_begun_ = true;  // guards against a second catch-up starting while this one runs
    auto heads = hub_.sequenced_heads();
    // Channels whose jump arrived before catch-up are repaired with the others.
    // (No structured binding here: clang 14 cannot capture one in the lambda.)
    for (const auto& entry : repairing_) {
        const std::string& channel = entry.first;
        if (std::none_of(heads.begin(), heads.end(), [&](const auto& h) { return h.first == channel; }))
            heads.emplace_back(channel, 0);
    }
    if (heads.empty()) {
        hub_.set_ready(true);
        log::info("redis ready", {{"subscriptions", sub_->count()}});
        return;
    }
    auto remaining = std::make_shared<size_t>(heads.size());
    for (const auto& [channel, head] : heads) {
        repairing_.try_emplace(channel);
        auto ready = [this, remaining] {
            if (--*remaining > 0) return;
            hub_.set_ready(true);
            log::info("redis ready after catch-up");
        };
        if (cfg_.type == BrokerType::RedisCluster) check_tip(channel, ready);
        else repair(channel, ready);
    }
}

void RedisFeed::on_sequenced_message(const std::string& channel, const std::string& data) {
    // An empty channel: the subscription heard it outside the sequenced namespace.
    auto env = !channel.empty() ? parse_envelope(data) : std::nullopt;
    if (!env) {
        // Not what the function publishes: a malformed envelope, or a position out of
        // range (above 2^53-1), which would wrap position arithmetic downstream.
        counters_.dropped_bad_envelope.add(1);
        if (bad_envelopes_logged_++ < 10 || bad_envelopes_logged_ % 1000 == 0)
            log::warn("malformed sluice envelope dropped",
                      {{"channel", sequenced_channel(cfg_.key_prefix,
                                                     cfg_.type == BrokerType::RedisCluster
                                                         ? "{" + channel + "}"
                                                         : channel)},
                       {"reason", "not an envelope with a position in 1..2^53-1"}});
        return;
    }
    on_sequenced(channel, std::move(*env));
}

bool RedisFeed::acceptable(const std::string& channel, const std::string& payload,
                           const std::string& event) {
    PayloadProblem problem = check_event(payload, event, max_event_size_);
    if (problem == PayloadProblem::None) return true;
    count_drop(counters_, problem);
    // Logged for the first few and then every 1000th, so a bad worker cannot flood the log.
    if (dropped_logged_++ < 10 || dropped_logged_ % 1000 == 0)
        log::warn("redis message dropped",
                  {{"channel", channel}, {"reason", describe(problem)}, {"bytes", payload.size()}});
    return false;
}

void RedisFeed::on_plain(const std::string& channel, const std::string& data) {
    // Bad data never gets a position: positions stay dense and clients see no gap.
    if (!acceptable(channel, data, "")) return;
    counters_.messages_plain.add(1);
    // At the channel limit the hub drops it (counted, logged) but uses up its position,
    // so readers see a gap rather than nothing. 0 with room left: no positions left.
    if (hub_.publish(channel, data, "", nullptr, MemoryHub::AtCap::Skip) == 0 && hub_.admits(channel))
        log::warn("redis message dropped",
                  {{"channel", channel}, {"reason", "channel has no positions left"}});
}

void RedisFeed::on_sequenced(const std::string& channel, Envelope env) {
    counters_.messages_sequenced.add(1);
    // A bad sequenced payload already has its position in Redis: dropping it leaves a
    // hole that loops report to clients as a gap, never a silent skip.
    if (!acceptable(channel, env.payload, env.event)) {
        if (!repairing_.count(channel) && env.position > hub_.head(channel))
            hub_.skip_sequenced(channel, env.position);
        return;
    }
    take_sequenced(channel, std::move(env));
}

void RedisFeed::take_sequenced(const std::string& channel, Envelope env) {
    auto rep = repairing_.find(channel);
    if (rep != repairing_.end()) {
        rep->second.push_back(Buffered{env.position, std::move(env.event), std::move(env.payload)});
        return;
    }
    uint64_t head = hub_.head(channel);
    if (env.position == 1 && head > 1) {
        verify_restart(channel, std::move(env));
        return;
    }
    if (env.position <= head) return;  // already delivered (catch-up overlap)
    if (head == 0 || env.position == head + 1) {
        hub_.deliver_sequenced(channel, env.position, env.payload, env.event);
        return;
    }
    // A jump: some positions never reached us. Read them from Redis history first.
    repairing_[channel].push_back(Buffered{env.position, std::move(env.event), std::move(env.payload)});
    // Before catch-up (just reconnected; the command link may not be back yet) the
    // catch-up repairs this channel: a read now could fail and leave a false gap.
    if (catch_up_begun_) repair(channel, nullptr);
}

void RedisFeed::check_tip(const std::string& channel, std::function<void()> done) {
    // One check per channel at a time. A subscription that moves twice while a failover
    // settles starts a second catch-up before the first has rewound the channel; its
    // check would still see the old tip and rewind the channel a second time (readers
    // would get the same events again behind a second reset). It waits, and runs on the
    // tip the first one left.
    auto [it, first] = checking_tip_.try_emplace(channel);
    if (!first) {
        it->second.push_back(std::move(done));
        return;
    }
    compare_tip(channel, [this, channel, done = std::move(done)] {
        if (done) done();
        end_tip_check(channel);
    });
}

void RedisFeed::end_tip_check(const std::string& channel) {
    auto it = checking_tip_.find(channel);
    if (it == checking_tip_.end()) return;
    std::vector<std::function<void()>> waiting = std::move(it->second);
    checking_tip_.erase(it);
    if (waiting.empty()) return;
    check_tip(channel, [waiting = std::move(waiting)] {
        for (const auto& done : waiting)
            if (done) done();
    });
}

void RedisFeed::compare_tip(const std::string& channel, std::function<void()> done) {
    auto tip = hub_.sequenced_tip(channel);  // (no structured binding: clang 14 captures none)
    uint64_t pos = tip.first, digest = tip.second;
    if (pos == 0 || digest == 0) return repair(channel, std::move(done));
    const std::string key = seq_key(cfg_.key_prefix, channel);
    cmd_->send(key, xrange_argv(cfg_.key_prefix, channel, pos, pos, 1),
               [this, channel, pos, digest, done, key, epoch = catch_up_epoch_](const RedisValue& reply) {
        if (epoch != catch_up_epoch_) return;
        // An error: the repair's own read meets it and handles it.
        if (reply.is_error()) return repair(channel, done);
        auto entries = parse_xrange_reply(reply);
        if (!entries.empty()) {
            bool same = MemoryHub::event_digest(entries[0].event, entries[0].payload) == digest;
            return repair(channel, done, !same);
        }
        // Not in the log: trimmed or expired while the counter still counts past it, or
        // lost with the counter.
        cmd_->send(key, {"GET", key}, [this, channel, pos, done, epoch](const RedisValue& seq) {
            if (epoch != catch_up_epoch_) return;
            if (seq.is_error()) return repair(channel, done);
            auto counter = parse_seq_reply(seq);
            repair(channel, done, counter && *counter < pos);
        }, RedisCommands::Retry::UntilSent);
    }, RedisCommands::Retry::UntilSent);
}

void RedisFeed::finish_rewind(const std::string& channel, std::vector<LogEntry> fetched) {
    log::warn("redis no longer holds the last events sluice delivered on a channel (lost in a "
              "failover); the channel starts over from what redis holds and its readers get a "
              "reset gap",
              {{"channel", channel}, {"previous_head", hub_.head(channel)},
               {"redis_events", fetched.size()}});
    std::vector<Message> events;
    for (auto& ev : fetched) {
        if (!acceptable(channel, ev.payload, ev.event)) continue;  // a hole: readers see a gap
        Message m;
        m.channel = channel;
        m.position = ev.position;
        m.event = std::move(ev.event);
        m.payload = std::move(ev.payload);
        events.push_back(std::move(m));
    }
    counters_.recovered.add(static_cast<int64_t>(events.size()));
    hub_.rewind_sequenced(channel, events);
    finish_repair(channel, {});  // then what arrived live meanwhile
}

void RedisFeed::repair(const std::string& channel, std::function<void()> done, bool rewind) {
    uint64_t head = rewind ? 0 : hub_.head(channel);
    auto fetched = std::make_shared<std::vector<LogEntry>>();
    // Reads batch after batch until Redis has nothing newer, then delivers in order.
    auto step = std::make_shared<std::function<void(uint64_t)>>();
    *step = [this, channel, fetched, step, done, rewind, epoch = catch_up_epoch_](uint64_t from) {
        cmd_->send(log_key(cfg_.key_prefix, channel),
                   xrange_argv(cfg_.key_prefix, channel, from, UINT64_MAX, kCatchUpBatch),
                      [this, channel, fetched, step, done, rewind, epoch](const RedisValue& reply) {
                          if (epoch != catch_up_epoch_) {  // abandoned: see on_down
                              *step = nullptr;
                              return;
                          }
                          if (reply.is_error()) {
                              // What Redis holds is unknown, not gone: the command link
                              // dropped, or Redis refused the read (LOADING after a
                              // restart, BUSY, an ACL without XRANGE). Keep the buffered
                              // events and hold streams; the catch-up after the
                              // reconnect repairs the channel. A refused read drops the
                              // link on purpose, so its backoff paces the retries.
                              *step = nullptr;
                              catch_up_begun_ = false;
                              checking_tip_.erase(channel);  // done never runs
                              hub_.set_ready(false);
                              if (reply.str != kLinkDownError) {
                                  log::error("redis history read failed; streams are held until it succeeds",
                                             {{"channel", channel}, {"error", reply.str}});
                                  cmd_->drop_connection(log_key(cfg_.key_prefix, channel));
                              }
                              return;
                          }
                          auto batch = parse_xrange_reply(reply);
                          bool more = batch.size() >= kCatchUpBatch;
                          uint64_t next = batch.empty() ? 0 : batch.back().position + 1;
                          fetched->insert(fetched->end(), std::make_move_iterator(batch.begin()),
                                          std::make_move_iterator(batch.end()));
                          if (more) {
                              (*step)(next);
                              return;
                          }
                          if (rewind) finish_rewind(channel, std::move(*fetched));
                          else finish_repair(channel, std::move(*fetched));
                          *step = nullptr;  // break the self-reference
                          if (done) done();
                      }, RedisCommands::Retry::UntilSent);
    };
    (*step)(rewind ? 0 : head + 1);
}

void RedisFeed::verify_restart(const std::string& channel, Envelope first) {
    // Pub/sub is ordered, so after an event of this count a 1 is a new count. But the
    // hub's head may also come from a loop that read the counter (note_sequenced_head)
    // while this feed had not yet taken in the events before it: then the 1 is a late
    // copy, and a reset would make readers see the count's events twice. Later messages
    // wait in repairing_ meanwhile, as during a repair.
    repairing_[channel].push_back(Buffered{first.position, std::move(first.event), std::move(first.payload)});
    cmd_->send(seq_key(cfg_.key_prefix, channel), {"GET", seq_key(cfg_.key_prefix, channel)},
               [this, channel](const RedisValue& reply) {
        if (reply.is_error() && reply.str == kLinkDownError) {
            // Redis cannot say. Its link dropping is what a Redis restart looks like, and
            // that is when counts start over: take the 1 for a restart, as pub/sub order
            // says (a late copy needs a loop load racing pub/sub, while Redis answered).
            finish_verify(channel, true);
            return;
        }
        auto counter = parse_seq_reply(reply);
        // A counter below the head (or gone, or unreadable) cannot be the count the head
        // belongs to: Redis forgot the channel (expired, flushed, restarted).
        finish_verify(channel, !counter || *counter < hub_.head(channel));
    });
}

void RedisFeed::finish_verify(const std::string& channel, bool restarted) {
    auto it = repairing_.find(channel);
    if (it == repairing_.end() || it->second.empty()) return;
    std::vector<Buffered> waiting = std::move(it->second);
    repairing_.erase(it);
    if (restarted) {
        log::warn("channel positions reset by redis",
                  {{"channel", channel}, {"previous_head", hub_.head(channel)}});
        hub_.reset_sequenced(channel, waiting[0].payload, waiting[0].event);
    }  // else the 1 was a copy of what the head already covers: dropped
    // The rest as on arrival (copies at or below the head are dropped); another 1 among
    // them is checked again.
    for (size_t i = 1; i < waiting.size(); ++i) {
        Buffered& b = waiting[i];
        take_sequenced(channel, Envelope{b.position, std::move(b.event), std::move(b.payload)});
    }
}

void RedisFeed::finish_repair(const std::string& channel, std::vector<LogEntry> fetched) {
    for (auto& ev : fetched) {
        if (!acceptable(channel, ev.payload, ev.event)) {
            hub_.skip_sequenced(channel, ev.position);
            continue;
        }
        if (hub_.deliver_sequenced(channel, ev.position, ev.payload, ev.event)) counters_.recovered.add(1);
    }
    auto it = repairing_.find(channel);
    if (it == repairing_.end()) return;
    std::vector<Buffered> buffered = std::move(it->second);
    repairing_.erase(it);
    std::sort(buffered.begin(), buffered.end(),
              [](const Buffered& a, const Buffered& b) { return a.position < b.position; });
    // What Redis no longer had stays a hole; loops report it to clients as a gap.
    // Buffered messages passed acceptable() on arrival.
    for (auto& b : buffered) hub_.deliver_sequenced(channel, b.position, b.payload, b.event);
}

}  // namespace sluice::broker
