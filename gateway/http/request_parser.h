// Incremental HTTP/1.1 request parser on llhttp, with sluice's limits and
// request-smuggling checks. One per connection while it reads requests; released
// once a connection becomes an SSE stream. Bodies are buffered (small bodies sluice reads
// itself) or, after report_head mode stops at the head, streamed piece by piece (proxy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/http/request.h"

namespace sluice::http {

struct ParserLimits {
    uint64_t max_header_size = 16 * 1024;  // request line + all header bytes -> 431
    uint64_t max_url_length = 8 * 1024;    // -> 414
    uint64_t max_body_size = 1024 * 1024;  // -> 413
};

struct ParseResult {
    enum class Kind {
        NeedMore,  // all input consumed, message not complete yet
        Head,      // report_head mode: the head is complete and accepted; choose how the
                   // body is read (stream_body() or nothing = buffered), then feed again
                   // (with the rest of the input, even if that is empty)
        Body,      // streamed body: `body` is the next piece (points into the input)
        Complete,  // one full message (head + body) is ready; `consumed` stops right after it
        Error,     // the connection must get `status` and be closed
    };
    Kind kind = Kind::NeedMore;
    size_t consumed = 0;  // bytes of the input used by this call
    int status = 0;       // for Error: 400, 413, 414, 431 (or 505 for a bad version)
                          // also 501 (a transfer coding other than chunked) and 500 (an
                          // exception such as bad_alloc inside the parser)
    std::string reason;   // for Error: short text for the log and the response body
    std::string_view body;  // for Body: decoded body bytes, valid until the next feed()
};

class RequestParser {
  public:
    explicit RequestParser(const ParserLimits& limits);
    ~RequestParser();
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    // Feeds bytes. Stops at the end of the first complete message so the caller can
    // answer it before feeding the rest (pipelining). After Complete, head()/body()
    // are valid until reset(). After Error, the parser is unusable.
    // Feeding again after Complete without reset() starts the next message (an implicit
    // reset()). Framing is strict: Content-Length together with Transfer-Encoding, any
    // repeated Content-Length (even an identical one) and bad chunking are 400.
    ParseResult feed(const char* data, size_t len);

    // Report mode: every message first yields Head once its head is accepted. The body
    // size limit is then applied only if the body is buffered.
    void set_report_head(bool on);
    // After Head: deliver this message's body as Body results instead of buffering it.
    // No size limit applies to a streamed body; chunked framing is still checked.
    void stream_body();
    // After the head: whether the message has a body (Content-Length > 0, or chunked).
    bool expects_body() const;
    // After the head: false when a declared Content-Length is over max_body_size.
    bool body_within_limit() const;
    // True once the whole current message (head and body) has been read.
    bool message_complete() const;

    // True once any byte of the current message has been seen (for 408 vs idle close).
    bool in_message() const;

    // True once the whole head has been read and accepted, even while the body is still
    // arriving (NeedMore): lets the caller answer "Expect: 100-continue" from head().
    bool head_complete() const;

    const RequestHead& head() const;
    RequestHead& head();
    const std::string& body() const;

    // Prepares for the next request on the same connection.
    void reset();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::http
