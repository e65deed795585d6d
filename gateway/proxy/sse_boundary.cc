#include "gateway/proxy/sse_boundary.h"

namespace sluice::proxy {

void SseBoundary::feed(std::string_view bytes) {
    for (char c : bytes) {
        if (c == '\n' && pending_cr_) {  // the LF of a CRLF: the line already ended
            pending_cr_ = false;
            continue;
        }
        pending_cr_ = c == '\r';
        if (c == '\r' || c == '\n') {
            // A line end after a line with content; a second one in a row is the blank
            // line that dispatches the event.
            state_ = state_ == State::InLine ? State::AfterLine : State::Boundary;
        } else {
            state_ = State::InLine;
        }
    }
}

}  // namespace sluice::proxy
