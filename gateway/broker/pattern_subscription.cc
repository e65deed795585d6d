#include "gateway/broker/pattern_subscription.h"

#include <algorithm>

#include "gateway/broker/redis_functions.h"

namespace sluice::broker {

namespace {
std::vector<std::string> sequenced_twins(const std::string& key_prefix,
                                         const std::vector<std::string>& patterns) {
    std::vector<std::string> out;
    out.reserve(patterns.size());
    for (const auto& p : patterns) out.push_back(sequenced_pattern(key_prefix, p));
    return out;
}
}  // namespace

PatternSubscription::PatternSubscription(uv_loop_t* loop, RedisEndpoint ep, BackoffPolicy backoff,
                                         std::string key_prefix, std::vector<std::string> patterns)
    : loop_(loop), ep_(std::move(ep)), backoff_(backoff), key_prefix_(std::move(key_prefix)),
      patterns_(std::move(patterns)), seq_patterns_(sequenced_twins(key_prefix_, patterns_)) {
    link_ = std::make_unique<RedisLink>(loop_, ep_, backoff_, "subscriber", RedisLink::Callbacks{});
}

void PatternSubscription::start(Callbacks cb) {
    cb_ = std::move(cb);
    RedisLink::Callbacks lcb;
    lcb.on_ready = [this] { on_link_ready(); };
    lcb.on_down = [this](const std::string& why) {
        acked_ = 0;
        if (cb_.on_down) cb_.on_down(why);
    };
    lcb.on_push = [this](const RedisValue& v) { on_push(v); };
    link_ = std::make_unique<RedisLink>(loop_, ep_, backoff_, "subscriber", std::move(lcb));
    link_->start();
}

bool PatternSubscription::ready() const {
    return link_->ready() && acked_ >= patterns_.size() + seq_patterns_.size();
}

void PatternSubscription::on_link_ready() {
    acked_ = 0;
    if (patterns_.empty()) {
        if (cb_.on_ready) cb_.on_ready();
        return;
    }
    std::vector<std::string> argv{"PSUBSCRIBE"};
    argv.insert(argv.end(), patterns_.begin(), patterns_.end());
    argv.insert(argv.end(), seq_patterns_.begin(), seq_patterns_.end());
    link_->subscribe_command(argv);
}

void PatternSubscription::set_patterns(std::vector<std::string> patterns) {
    std::vector<std::string> added, removed;
    for (const auto& p : patterns)
        if (std::find(patterns_.begin(), patterns_.end(), p) == patterns_.end()) {
            added.push_back(p);
            added.push_back(sequenced_pattern(key_prefix_, p));
        }
    for (const auto& p : patterns_)
        if (std::find(patterns.begin(), patterns.end(), p) == patterns.end()) {
            removed.push_back(p);
            removed.push_back(sequenced_pattern(key_prefix_, p));
        }
    patterns_ = std::move(patterns);
    seq_patterns_ = sequenced_twins(key_prefix_, patterns_);
    if (link_->state() != LinkState::Ready) return;  // the next connect subscribes to all
    if (!added.empty()) {
        std::vector<std::string> argv{"PSUBSCRIBE"};
        argv.insert(argv.end(), added.begin(), added.end());
        link_->subscribe_command(argv);
    }
    if (!removed.empty()) {
        std::vector<std::string> argv{"PUNSUBSCRIBE"};
        argv.insert(argv.end(), removed.begin(), removed.end());
        link_->subscribe_command(argv);
    }
}

void PatternSubscription::on_push(const RedisValue& push) {
    if (push.type != RedisValue::Type::Array || push.elements.empty()) return;
    const std::string& kind = push.elements[0].str;
    const std::string seq_prefix = sequenced_channel(key_prefix_, "");
    if (kind == "pmessage" && push.elements.size() == 4) {
        // Which pattern matched says which kind of message it is, not the bytes: a plain
        // PUBLISH shaped like an envelope is still a plain payload (issue 8).
        const std::string& pattern = push.elements[1].str;
        const std::string& channel = push.elements[2].str;
        bool sequenced =
            std::find(seq_patterns_.begin(), seq_patterns_.end(), pattern) != seq_patterns_.end();
        if (sequenced) {
            // The pattern matched, so the name starts with the namespace; checked anyway
            // (without it the channel is "", which the feed refuses as a bad envelope).
            bool in_namespace = channel.rfind(seq_prefix, 0) == 0;
            cb_.on_message(in_namespace ? channel.substr(seq_prefix.size()) : std::string(),
                           push.elements[3].str, true);
        } else if (channel.rfind(seq_prefix, 0) == 0) {
            // A route pattern wide enough to cover the sequenced namespace (channel "{id}"
            // is "*") also hears the function's envelopes; their sequenced twin pattern
            // delivers them, so this copy is not a bad plain payload.
        } else {
            cb_.on_message(channel, push.elements[3].str, false);
        }
    } else if (kind == "message" && push.elements.size() == 3) {
        cb_.on_message(push.elements[1].str, push.elements[2].str, false);
    } else if (kind == "psubscribe") {
        ++acked_;
        if (acked_ == patterns_.size() + seq_patterns_.size() && cb_.on_ready) cb_.on_ready();
    }
}

}  // namespace sluice::broker
