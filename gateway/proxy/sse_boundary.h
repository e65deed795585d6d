// Tracks the bytes of a text/event-stream body passing through the proxy and tells
// whether the stream stands between two events, the only place where sluice may inject a
// heartbeat comment without splitting an event. SSE lines end with LF, CRLF or CR; an
// event ends with a blank line.
#pragma once

#include <string_view>

namespace sluice::proxy {

class SseBoundary {
  public:
    void feed(std::string_view bytes);
    // At the start of the body, or right after the blank line that ends an event.
    bool at_boundary() const { return state_ == State::Boundary && !pending_cr_; }

  private:
    enum class State { Boundary, InLine, AfterLine };
    State state_ = State::Boundary;
    bool pending_cr_ = false;  // last byte was CR: an LF right after it ends the same line
};

// What a heartbeat looks like in the stream: a comment, or the data event that some
// clients watch for (the same bytes sluice's own SSE routes send).
inline constexpr std::string_view kCommentHeartbeat = ": heartbeat\n\n";
inline constexpr std::string_view kDataHeartbeat = "data: {\"type\":\"heartbeat\"}\n\n";

}  // namespace sluice::proxy
