// Incremental HTTP/1.x response parser on llhttp, for the replies of upstream servers.
// Pull style, like RequestParser's streaming mode: feed() hands back the head, then each
// body piece, then the end, so the caller acts on each outside llhttp's callbacks and
// never holds a whole body. One per upstream connection, reset between responses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/http/request.h"

namespace sluice::http {

// How the body of a response is delimited on the wire.
enum class BodyFraming {
    None,        // no body: HEAD request, 1xx, 204, 304
    Length,      // Content-Length
    Chunked,     // Transfer-Encoding: chunked
    UntilClose,  // neither: the body ends when the server closes the connection
};

struct ResponseInfo {
    int status = 0;
    int version_major = 1;
    int version_minor = 1;
    std::string reason;
    std::vector<Header> headers;
    BodyFraming framing = BodyFraming::None;
    uint64_t content_length = 0;  // for Length
    bool keep_alive = false;      // the server lets the connection carry another request

    // Case-insensitive lookup of the first header with that name.
    const std::string* header(std::string_view name) const;
};

struct ResponseParseResult {
    enum class Kind {
        NeedMore,  // all input consumed, nothing to report
        Head,      // head() is complete (status, headers, framing)
        Body,      // `body` is the next decoded piece (points into the input)
        Complete,  // the response ended; `consumed` stops right after it
        Error,     // malformed or unsupported response: the connection cannot be used
    };
    Kind kind = Kind::NeedMore;
    size_t consumed = 0;
    std::string_view body;
    std::string reason;  // for Error
};

class ResponseParser {
  public:
    explicit ResponseParser(uint64_t max_head_size = 64 * 1024);
    ~ResponseParser();
    ResponseParser(const ResponseParser&) = delete;
    ResponseParser& operator=(const ResponseParser&) = delete;

    // Before the response to a HEAD request: its head announces a body that never comes.
    void set_no_body(bool on);

    // Feeds bytes; returns at each event. Feeding after Complete starts the next response
    // (an implicit reset(), which keeps set_no_body). Interim 1xx responses are reported like
    // any other (Head, then Complete); 101 (an upgrade, never asked for) is an Error.
    ResponseParseResult feed(const char* data, size_t len);

    // The server closed the connection: Complete for a body that runs until close,
    // NeedMore when no response was in progress, Error for a truncated response.
    ResponseParseResult end_of_input();

    const ResponseInfo& head() const;
    bool in_message() const;  // any byte of a response seen, and it has not completed
    void reset();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::http
