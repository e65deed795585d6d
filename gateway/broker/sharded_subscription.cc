#include "gateway/broker/sharded_subscription.h"

#include <algorithm>

#include "gateway/broker/redis_functions.h"
#include "gateway/core/log.h"

namespace sluice::broker {

ShardedSubscription::ShardedSubscription(uv_loop_t* loop, ClusterClient& client, BackoffPolicy backoff,
                                         std::string key_prefix)
    : loop_(loop), client_(client), backoff_(backoff), key_prefix_(std::move(key_prefix)),
      post_(LoopPost::create(loop)) {}

ShardedSubscription::~ShardedSubscription() = default;

void ShardedSubscription::start(Callbacks cb) { cb_ = std::move(cb); }

void ShardedSubscription::stop(std::function<void()> done) {
    stopped_ = true;
    auto remaining = std::make_shared<size_t>(1 + shards_.size() + retired_.size());
    auto one = [remaining, done] {
        if (--*remaining == 0 && done) done();
    };
    post_->close(one);
    for (auto& [addr, s] : shards_) s.link->stop(one);
    for (auto& r : retired_) r->link->stop(one);
}

bool ShardedSubscription::ready() const { return client_.ready() && lost_ == 0; }

// ---- interest, from any thread ----

void ShardedSubscription::acquire(const std::string& channel, Subscribed when_subscribed) {
    post_->post([this, channel, fn = std::move(when_subscribed)]() mutable {
        on_acquire(channel, std::move(fn));
    });
}

void ShardedSubscription::release(const std::string& channel) {
    post_->post([this, channel] { on_release(channel); });
}

void ShardedSubscription::on_acquire(const std::string& channel, Subscribed when_subscribed) {
    if (stopped_) return;
    Channel& ch = channels_[channel];
    if (when_subscribed) ch.waiting.push_back(std::move(when_subscribed));
    if (ch.holds++ == 0) {
        // Only the two new names are sent here: a pass over every name per acquire made
        // opening n channels O(n^2) (issue 12's cluster row: 10,000 channels took a core).
        for (const std::string& real : {channel, sequenced_channel(key_prefix_, "{" + channel + "}")}) {
            Name& n = add_name(real, channel, real != channel);
            subscribe_if_idle(real, n);
        }
    }
    notify_if_subscribed(channel);
}

ShardedSubscription::Name& ShardedSubscription::add_name(const std::string& real, const std::string& channel,
                                                          bool sequenced) {
    Name& n = names_[real];
    n.channel = channel;
    n.sequenced = sequenced;
    set_state(n, NameState::Idle);
    const ClusterNode* master = client_.map().master_of(key_hash_slot(real));
    n.node = master ? master->address() : std::string();
    return n;
}

void ShardedSubscription::on_release(const std::string& channel) {
    auto it = channels_.find(channel);
    if (it == channels_.end() || --it->second.holds > 0) return;
    channels_.erase(it);
    for (const std::string& real : {channel, sequenced_channel(key_prefix_, "{" + channel + "}")}) {
        auto n = names_.find(real);
        if (n == names_.end()) continue;
        if (n->second.state != NameState::Idle) {
            auto s = shards_.find(n->second.node);
            if (s != shards_.end() && s->second.link->ready()) {
                s->second.sent.push_back(Sent{real, false});
                s->second.link->push_command({"SUNSUBSCRIBE", real});
            }
        }
        if (n->second.lost) --lost_;
        set_state(n->second, NameState::Idle);
        names_.erase(n);
    }
    maybe_ready();
}

void ShardedSubscription::notify_if_subscribed(const std::string& channel) {
    auto ch = channels_.find(channel);
    if (ch == channels_.end() || ch->second.waiting.empty()) return;
    for (const std::string& real : {channel, sequenced_channel(key_prefix_, "{" + channel + "}")}) {
        auto n = names_.find(real);
        if (n == names_.end() || n->second.state != NameState::Active) return;
    }
    auto waiting = std::move(ch->second.waiting);
    ch->second.waiting.clear();
    for (auto& fn : waiting) fn();
}

// ---- shards ----

ShardedSubscription::Shard& ShardedSubscription::shard(const ClusterNode& node) {
    std::string addr = node.address();
    auto it = shards_.find(addr);
    if (it != shards_.end()) return it->second;
    Shard& s = shards_[addr];
    s.where = node;
    RedisLink::Callbacks cb;
    cb.on_ready = [this, addr] { on_shard_ready(addr); };
    cb.on_down = [this, addr](const std::string& why) { on_shard_down(addr, why); };
    cb.on_push = [this, addr](const RedisValue& v) { on_shard_push(addr, v); };
    s.link = std::make_unique<RedisLink>(loop_, client_.endpoint(node), backoff_, "subscriber@" + addr,
                                         std::move(cb));
    s.link->start();
    return s;
}

void ShardedSubscription::flush() {
    for (auto& [real, n] : names_) subscribe_if_idle(real, n);
}

void ShardedSubscription::subscribe_if_idle(const std::string& real, Name& n) {
    if (stopped_ || !client_.ready() || n.state != NameState::Idle) return;
    const ClusterNode* master = client_.map().master_of(key_hash_slot(real));
    if (!master) return;
    n.node = master->address();
    Shard& s = shard(*master);
    if (!s.link->ready()) return;  // on_shard_ready sends it
    // One name per SSUBSCRIBE: a command's channels must share a slot, and one reply per
    // command keeps replies matched to what was sent.
    s.sent.push_back(Sent{real, true});
    s.link->push_command({"SSUBSCRIBE", real});
    set_state(n, NameState::Sent);
}

void ShardedSubscription::on_shard_ready(const std::string& address) {
    auto it = shards_.find(address);
    if (it == shards_.end()) return;
    it->second.sent.clear();
    it->second.link->enter_push_mode();
    flush();
}

void ShardedSubscription::mark_lost(Name& n, const std::string& why) {
    if (n.state == NameState::Active && !n.lost) {
        n.lost = true;
        if (lost_++ == 0) {
            reported_ready_ = false;
            if (cb_.on_down) cb_.on_down(why);
        }
    }
    set_state(n, NameState::Idle);
}

void ShardedSubscription::on_shard_down(const std::string& address, const std::string& why) {
    auto it = shards_.find(address);
    if (it != shards_.end()) it->second.sent.clear();
    for (auto& [real, n] : names_)
        if (n.node == address) mark_lost(n, "subscriber link to " + address + " lost: " + why);
    client_.refresh();  // a master that went away may have been replaced
}

void ShardedSubscription::on_map_read() {
    if (stopped_) return;
    // Names whose slot another master serves now move there.
    for (auto& [real, n] : names_) {
        const ClusterNode* master = client_.map().master_of(key_hash_slot(real));
        std::string owner = master ? master->address() : std::string();
        if (owner == n.node) continue;
        auto s = shards_.find(n.node);
        if (n.state != NameState::Idle && s != shards_.end() && s->second.link->ready()) {
            s->second.sent.push_back(Sent{real, false});
            s->second.link->push_command({"SUNSUBSCRIBE", real});
        }
        mark_lost(n, "slot of " + real + " moved to " + owner);
        n.node = owner;
    }
    retire_unused_shards();
    flush();
    maybe_ready();
}

void ShardedSubscription::retire_unused_shards() {
    std::vector<std::string> unused;
    for (const auto& [addr, s] : shards_) {
        const auto& masters = client_.map().masters();
        if (std::find(masters.begin(), masters.end(), s.where) == masters.end()) unused.push_back(addr);
    }
    for (const auto& addr : unused) {
        auto it = shards_.find(addr);
        auto retired = std::make_shared<Retired>();
        retired->link = std::move(it->second.link);
        shards_.erase(it);
        std::weak_ptr<Retired> weak = retired;
        retired->link->stop([weak] {
            if (auto r = weak.lock()) r->closed = true;
        });
        retired_.push_back(std::move(retired));
    }
    retired_.erase(std::remove_if(retired_.begin(), retired_.end(),
                                  [](const std::shared_ptr<Retired>& r) { return r->closed; }),
                   retired_.end());
}

void ShardedSubscription::on_shard_push(const std::string& address, const RedisValue& push) {
    auto it = shards_.find(address);
    if (it == shards_.end()) return;
    Shard& s = it->second;
    if (push.type == RedisValue::Type::Array && push.elements.size() == 3 &&
        push.elements[0].str == "smessage") {
        auto n = names_.find(push.elements[1].str);
        if (n == names_.end() || n->second.node != address) return;  // unsubscribed meanwhile
        if (cb_.on_message) cb_.on_message(n->second.channel, push.elements[2].str, n->second.sequenced);
        return;
    }
    on_reply(s, push);
}

void ShardedSubscription::on_reply(Shard& s, const RedisValue& reply) {
    bool is_unsub = reply.type == RedisValue::Type::Array && reply.elements.size() == 3 &&
                    reply.elements[0].str == "sunsubscribe";
    bool is_sub = reply.type == RedisValue::Type::Array && reply.elements.size() == 3 &&
                  reply.elements[0].str == "ssubscribe";
    std::string name = is_sub || is_unsub ? reply.elements[1].str : std::string();
    if (is_unsub && (s.sent.empty() || s.sent.front().subscribe || s.sent.front().name != name)) {
        // Not ours: the node dropped the subscription (it no longer serves the slot).
        auto n = names_.find(name);
        if (n != names_.end() && n->second.node == s.where.address()) {
            mark_lost(n->second, "node " + s.where.address() + " unsubscribed " + name);
            client_.refresh();
        }
        return;
    }
    if (s.sent.empty()) return;
    Sent sent = std::move(s.sent.front());
    s.sent.pop_front();
    auto n = names_.find(sent.name);
    if (n == names_.end() || !sent.subscribe) return;
    if (reply.is_error()) {
        // MOVED (the map is stale), CLUSTERDOWN...: subscribed again after the next map.
        log::warn("redis cluster refused a subscription; retrying after the next slot map",
                  {{"channel", sent.name}, {"node", s.where.address()}, {"error", reply.str}});
        set_state(n->second, NameState::Idle);
        client_.refresh();
        return;
    }
    // An ack from the node a name has just moved away from is not the name's subscription.
    if (is_sub && n->second.state == NameState::Sent && n->second.node == s.where.address())
        became_active(sent.name, n->second);
}

void ShardedSubscription::set_state(Name& n, NameState state) {
    if ((n.state == NameState::Active) == (state == NameState::Active)) {
        n.state = state;
        return;
    }
    n.state = state;
    if (state == NameState::Active) ++active_;
    else --active_;
    if (cb_.on_count) cb_.on_count();
}

void ShardedSubscription::became_active(const std::string&, Name& n) {
    set_state(n, NameState::Active);
    if (n.lost) {
        n.lost = false;
        --lost_;
    }
    notify_if_subscribed(n.channel);
    maybe_ready();
}

void ShardedSubscription::maybe_ready() {
    if (stopped_ || !ready() || reported_ready_) return;
    reported_ready_ = true;
    if (cb_.on_ready) cb_.on_ready();
}

}  // namespace sluice::broker
