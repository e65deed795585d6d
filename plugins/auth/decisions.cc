#include "plugins/auth/decisions.h"

#include "gateway/core/log.h"

namespace sluice::plugins::auth {

Decisions::Decisions(std::string plugin, const BuildContext& ctx)
    : plugin_(std::move(plugin)), route_(ctx.route_label) {
    if (!ctx.decisions) return;
    // Taken now, so every series of the route is exported (at 0) from the start.
    allowed_ = &ctx.decisions->counter(plugin_, route_, "allow");
    unauthenticated_ = &ctx.decisions->counter(plugin_, route_, "unauthenticated");
    forbidden_ = &ctx.decisions->counter(plugin_, route_, "forbidden");
}

void Decisions::allow() {
    if (allowed_) allowed_->fetch_add(1, std::memory_order_relaxed);
}

pipeline::HeadVerdict Decisions::refuse(pipeline::Request& req, int status,
                                        std::string_view reason, pipeline::Headers headers) {
    std::atomic<uint64_t>* counter = status == 403 ? forbidden_ : unauthenticated_;
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
    log::info("request refused by a plugin", {{"plugin", plugin_},
                                              {"route", route_},
                                              {"status", status},
                                              {"reason", reason},
                                              {"remote", req.remote()},
                                              {"request_id", req.request_id()}});
    req.respond_error(status, reason, std::move(headers));
    return pipeline::HeadVerdict::Answered;
}

bool channel_pattern_matches(std::string_view pattern, std::string_view channel) {
    if (!pattern.empty() && pattern.back() == '*') {
        std::string_view prefix = pattern.substr(0, pattern.size() - 1);
        return channel.substr(0, prefix.size()) == prefix;
    }
    return pattern == channel;
}

}  // namespace sluice::plugins::auth
