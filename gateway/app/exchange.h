// A response that a handler produces over time while the connection stays in its hands:
// a proxied request (its body streams in, the upstream's answer streams out) or a file
// sent in chunks. The Connection owns the current Exchange and calls these hooks; the
// exchange answers through the Connection (send, end_exchange, abort_exchange,
// respond_error). An ended exchange is destroyed later, never inside its own hooks.
#pragma once

#include <string_view>

namespace sluice::app {

class Exchange {
  public:
    virtual ~Exchange() = default;
    // The request body as it arrives (only for requests whose body is streamed), then its
    // end. May end the exchange.
    virtual void on_request_body(std::string_view bytes) = 0;
    virtual void on_request_end() = 0;
    // The streamed request body is malformed (`status`, `reason` from the parser). The
    // exchange answers (or closes the connection) and ends; false when it has no answer
    // of its own and the connection should just close.
    virtual bool on_request_error(int /*status*/, std::string_view /*reason*/) { return false; }
    // The client's unsent bytes fell to the low watermark: produce more. May end it.
    virtual void on_drained() = 0;
    // The worker is shutting down: finish soon (a never-ending stream should end now).
    virtual void on_drain() {}
    // The connection is closing: stop at once, make no further calls on it.
    virtual void on_close() noexcept = 0;
};

}  // namespace sluice::app
