// What an SSE stream writes to: implemented by the connection that carries it, so the
// stream logic (positions, replay, heartbeats, terminal) never touches sockets.
#pragma once

#include <cstdint>
#include <string>

#include "gateway/core/shared_bytes.h"

namespace sluice::sse {

// Expired: the request's credentials expired (pipeline::Request::close_at).
enum class CloseReason { Client, Terminal, Slow, Drain, Error, Pending, Expired };
const char* close_reason_name(CloseReason r);

class StreamSink {
  public:
    // Queues bytes; they go out with the connection's next write (coalesced per turn).
    virtual void send(SharedBytes bytes) = 0;
    virtual void send(std::string bytes) = 0;
    // Bytes handed to send() that the socket has not accepted yet.
    virtual uint64_t unsent_bytes() const = 0;
    // The part of unsent_bytes() that a write already offered to the socket and the
    // kernel would not take (bytes queued since the last write attempt are not in it):
    // what the client has failed to read, as opposed to what arrived this loop turn.
    virtual uint64_t refused_bytes() const = 0;
    // Writes what is queued, then closes. The stream gets no more calls after this.
    virtual void flush_and_close(CloseReason why) = 0;
    // Closes now, dropping what is queued.
    virtual void close_now(CloseReason why) = 0;
    // Milliseconds on the loop clock.
    virtual uint64_t now_ms() const = 0;

  protected:
    virtual ~StreamSink() = default;
};

}  // namespace sluice::sse
