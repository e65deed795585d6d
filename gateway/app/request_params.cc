#include "gateway/app/request_params.h"

#include <algorithm>

#include "gateway/core/position.h"
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

namespace {

// A position a client may claim: 0..kMaxPosition. Larger values are refused rather than
// wrapped or clamped (no channel can have reached them: issue 8).
std::optional<uint64_t> parse_claim(std::string_view text, const char* what, ParamError* err) {
    bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits) {
        err->reason = std::string(what) + " must be a non-negative integer";
        return std::nullopt;
    }
    auto n = http::parse_uint(text);
    if (!n || *n > kMaxPosition) {
        err->reason = std::string(what) + " must be at most " + std::to_string(kMaxPosition);
        return std::nullopt;
    }
    return *n;
}

}  // namespace

std::optional<uint64_t> resume_position(const http::RequestHead& req, bool use_last_event_id,
                                        ParamError* err) {
    std::optional<uint64_t> position;
    if (auto q = http::query_param(req.query, "position")) {
        position = parse_claim(*q, "position", err);
        if (!position) return std::nullopt;
    }
    if (!use_last_event_id) return position;
    const std::string* h = req.header("Last-Event-ID");
    if (!h || h->empty()) return position;
    auto n = parse_claim(*h, "Last-Event-ID", err);
    if (!n) return std::nullopt;
    return position ? std::max<uint64_t>(*position, *n) : *n;
}

}  // namespace sluice::app
