// Reading the stream and poll parameters of a request: the channel from the route's
// channel template, and the resume position from ?position= or Last-Event-ID.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "gateway/http/request.h"
#include "gateway/router/route_table.h"

namespace sluice::app {

struct ParamError {
    int status = 400;
    std::string reason;
};

// The channel for a matched sse/poll route, or a 400 reason.
std::optional<std::string> channel_for(const router::Match& m, ParamError* err);

// The resume point from ?position=N and Last-Event-ID; nullopt when neither is present.
// Both mean "I have everything up to N", so with both the larger one counts: an
// EventSource opened with ?position=N keeps that URL on its automatic reconnects and
// reports its real progress in Last-Event-ID. A value that is not a non-negative
// integer, or is above kMaxPosition, sets *err (the request gets 400).
std::optional<uint64_t> resume_position(const http::RequestHead& req, bool use_last_event_id,
                                        ParamError* err);

}  // namespace sluice::app
