// Heartbeat options: how often an idle SSE response gets a keep-alive, and in which form.
// Used by sse routes and, for text/event-stream answers, by proxy routes.
#pragma once

#include <chrono>

namespace sluice::sse {

enum class HeartbeatMode {
    Comment,  // ": ping" lines, invisible to EventSource
    Data,     // an event a client can see (for clients that ignore comments)
};

struct HeartbeatOptions {
    std::chrono::milliseconds interval = std::chrono::seconds(15);
    HeartbeatMode mode = HeartbeatMode::Comment;
};

}  // namespace sluice::sse
