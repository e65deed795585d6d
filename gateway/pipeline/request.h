// What a handler sees of one request and its answer, whatever carries them: an HTTP/1.1
// connection (app::Connection) or an HTTP/2 stream (app::H2Stream). Nothing here is HTTP/1.1:
// the carrier chooses the wire framing (Content-Length, chunked, until close) from the
// ResponseHead, adds Connection/Transfer-Encoding itself, and writes the access log.
//
// One request gets exactly one answer: respond(), or start_response() then body writes
// and end_response(), or close(). An answer that comes later (a broker reply, an event)
// is announced with wait() or carried by a Responder handed over with hand_over().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/core/lifetime.h"
#include "gateway/core/shared_bytes.h"
#include "gateway/http/request.h"
#include "gateway/sse/stream_sink.h"

namespace sluice::pipeline {

class FilterChain;

using Headers = std::vector<std::pair<std::string, std::string>>;

// How the body of a started response ends.
enum class BodyEnd {
    None,        // no body (HEAD, 204, 304): headers may still describe one
    Length,      // the Content-Length in `headers` says
    Unknown,     // end_response() says (HTTP/1.1: chunked, or a close for HTTP/1.0)
    Connection,  // a stream that ends only with its connection (SSE): the last response
};

struct ResponseHead {
    int status = 200;
    std::string reason;  // empty: the standard phrase
    Headers headers;     // end-to-end headers only: the carrier adds its own
    BodyEnd body = BodyEnd::Unknown;
};

// How a request's body arrives (the proxy frames it for the upstream accordingly).
enum class RequestBody { None, Length, Unknown };

// How to end a connection's answer early.
enum class CloseMode {
    Flush,  // send what is queued, then close
    Abort,  // close now, dropping what is queued
};

// The long-lived part of an answer: an SSE stream, a held poll, a proxied exchange, a file
// sent in chunks. The Request owns it from hand_over() until the answer ends and calls
// these hooks on its loop; it is destroyed later, never inside one of its own hooks.
class Responder {
  public:
    virtual ~Responder() = default;
    // The request body as it arrives (routes that stream it), then its end.
    virtual void on_request_body(std::string_view /*bytes*/) {}
    virtual void on_request_end() {}
    // The streamed request body is malformed. The responder answers (or closes) and
    // returns true; false: it has no answer of its own and the connection just closes.
    virtual bool on_request_error(int /*status*/, std::string_view /*reason*/) { return false; }
    // The unsent bytes fell to the low watermark: produce more.
    virtual void on_low_water() {}
    // The wait() announced by the handler expired. Default: 504.
    virtual bool on_wait_expired() { return false; }
    // The server is shutting down: end soon (a never-ending stream ends now).
    virtual void on_shutdown() {}
    // The client is gone or the connection is closing: stop, make no further calls.
    virtual void on_close() noexcept {}
    // Events a stream sent, for its access-log line.
    virtual uint64_t events_sent() const { return 0; }
};

// What a callback captures to learn whether its request is still the one being answered
// (false once it has been answered, or its client has gone).
using AliveToken = Lifetime::Token;

class Request {
  public:
    // --- What was asked ---------------------------------------------------------------
    // Until a stream (BodyEnd::Connection) starts: the carrier then lets the request go
    // (an idle stream keeps no request bytes) and head() is empty. Event and close hooks
    // copy at the request head whatever they need later.
    virtual const http::RequestHead& head() const = 0;
    // The body read whole (routes that read it whole; empty when it streams).
    virtual const std::string& body() const = 0;
    virtual RequestBody body_kind() const = 0;
    virtual bool body_complete() const = 0;  // the whole body has been read
    virtual const std::string& remote() const = 0;
    // The client reached sluice over TLS (a `tls:` listener): what X-Forwarded-Proto says
    // to upstreams ("https", else "http").
    virtual bool secure() const { return false; }
    virtual uint64_t now_ms() const = 0;     // the loop clock

    // --- A whole answer ----------------------------------------------------------------
    virtual void respond(int status, std::string_view body,
                         std::string_view content_type = "application/json",
                         Headers headers = {}) = 0;
    // {"error":reason,"status":N}
    void respond_error(int status, std::string_view reason, Headers headers = {});

    // --- An answer over time -----------------------------------------------------------
    virtual void start_response(ResponseHead head) = 0;
    // Body bytes, framed by the carrier. The output is bounded by the watermarks: a
    // producer stops above high_water() and goes on at Responder::on_low_water().
    virtual void write(SharedBytes bytes) = 0;
    void write(std::string bytes) { write(make_shared_bytes(std::move(bytes))); }
    virtual void end_response() = 0;  // complete: the carrier may take the next request
    virtual uint64_t unsent_bytes() const = 0;
    // The part of unsent_bytes() the socket refused (see sse::StreamSink::refused_bytes).
    virtual uint64_t refused_bytes() const = 0;
    virtual uint64_t high_water() const = 0;
    virtual uint64_t low_water() const = 0;
    // Ends the connection's answer early; `why` goes to the access log of a stream.
    virtual void close(CloseMode mode, sse::CloseReason why) = 0;
    // Ends the answer at `deadline_ms` (the loop clock, see now_ms()) if it is still going
    // then, as close(Flush, why) does after its responder has stopped (a jwt token's
    // expiry). Only for the request in progress: the next one on the connection has none.
    virtual void close_at(uint64_t deadline_ms, sse::CloseReason why) = 0;

    // --- Answers that come later -------------------------------------------------------
    // The answer will come from an asynchronous step; after `timeout_ms` the responder's
    // on_wait_expired() runs (or, without one, the client gets 504).
    virtual void wait(uint64_t timeout_ms) = 0;
    // Hands the rest of the answer to `r`, which the request owns from now on.
    virtual void hand_over(std::unique_ptr<Responder> r) = 0;
    virtual Responder* responder() = 0;
    // Counted (two pauses need two resumes): the request body stops arriving.
    virtual void pause_reading() = 0;
    virtual void resume_reading() = 0;
    virtual AliveToken alive() const = 0;

    // --- Filters -----------------------------------------------------------------------
    // The chain of the request's route (dispatch sets it): the carrier runs its response-
    // head filters on the answer's head and its close hooks when the request ends.
    virtual void set_filters(const FilterChain* chain) = 0;
    // A request-head filter suspended the chain (forward_auth's subrequest): the carrier
    // holds the connection's further input (the request's streamed body, pipelined
    // requests) until the chain resumes, as it does while a handler wait()s.
    virtual void filter_suspended() {}
    // The chain resumes on the request's loop: the carrier takes the request up where it
    // was when the filters began (the handler may hand_over, respond, wait). Called just
    // before the rest of the chain runs; the held input is fed again afterwards.
    virtual void filter_resumed() {}

    // --- The access log ----------------------------------------------------------------
    virtual void set_route_label(std::string label) = 0;
    // The channel of a stream (its access-log line names it).
    virtual void set_stream_channel(std::string channel) = 0;
    // The request's id (its usable X-Request-Id, else one generated on first use): in the
    // access log, sent upstream, and on sluice's own error answers on proxy routes.
    virtual const std::string& request_id() = 0;
    // Proxy routes: the upstream server that answered.
    virtual void set_upstream(std::string server) = 0;

  protected:
    ~Request() = default;
};

}  // namespace sluice::pipeline
