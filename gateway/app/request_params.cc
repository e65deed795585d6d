#include "gateway/app/request_params.h"

#include <algorithm>

#include "gateway/http/url.h"

namespace sluice::app {

std::optional<std::string> channel_for(const router::Match& m, ParamError* err) {
    router::ChannelTemplate::ExpandError e = router::ChannelTemplate::ExpandError::None;
    auto channel = m.route->channel->expand(m.captures, &e);
    if (!channel) {
        err->status = 400;
        err->reason = "path value for the channel must match [A-Za-z0-9_.:-]{1,128}";
    }
    return channel;
}

std::optional<uint64_t> resume_position(const http::RequestHead& req, bool use_last_event_id,
                                        ParamError* err) {
    std::optional<uint64_t> position;
    if (auto q = http::query_param(req.query, "position")) {
        auto n = http::parse_uint(*q);
        if (!n) {
            err->reason = "position must be a non-negative integer";
            return std::nullopt;
        }
        position = *n;
    }
    if (!use_last_event_id) return position;
    const std::string* h = req.header("Last-Event-ID");
    if (!h || h->empty()) return position;
    auto n = http::parse_uint(*h);
    if (!n) {
        err->reason = "Last-Event-ID must be a non-negative integer";
        return std::nullopt;
    }
    return position ? std::max<uint64_t>(*position, *n) : *n;
}

}  // namespace sluice::app
