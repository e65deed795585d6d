// Incremental HTTP/1.1 response parser for the bench's clients: status line and headers,
// then a body framed by Content-Length, chunked transfer coding or the end of the connection
// (how an SSE stream usually ends). Body bytes are handed on as they arrive, so an endless
// event stream never accumulates. One response at a time; reset() for the next on keep-alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::bench {

class HttpResponseParser {
public:
    using BodySink = std::function<void(std::string_view)>;

    explicit HttpResponseParser(std::size_t max_head = 64 * 1024) : max_head_(max_head) {}

    // Consumes bytes of the current response and returns how many it used: fewer than
    // in.size() only when the response completed (the rest belongs to the next response) or
    // the input is malformed (failed() is then true). `sink` receives decoded body bytes.
    std::size_t feed(std::string_view in, const BodySink& sink);

    // The peer closed the connection: completes a body that runs to the end of the
    // connection; anything else still open becomes a failure.
    void on_eof();

    void reset();

    bool head_complete() const { return state_ > State::Head; }
    bool done() const { return state_ == State::Done; }
    bool failed() const { return state_ == State::Failed; }
    const std::string& error() const { return error_; }

    int status() const { return status_; }
    // Header value by lower-case name (first occurrence); nullopt when absent.
    std::optional<std::string_view> header(std::string_view lower_name) const;

private:
    enum class State : uint8_t {
        Head, BodyLength, BodyClose, ChunkSize, ChunkData, ChunkDataEnd, Trailers, Done, Failed
    };

    std::size_t feed_head(std::string_view in);
    bool parse_head(std::string_view head);
    std::size_t fail(std::string msg, std::size_t used);
    // Reads one line ending in LF into line_; returns bytes used and whether it completed.
    std::pair<std::size_t, bool> take_line(std::string_view in);

    std::size_t max_head_;
    State state_ = State::Head;
    std::string head_;
    std::string line_;
    std::string error_;
    std::vector<std::pair<std::string, std::string>> headers_;
    int status_ = 0;
    uint64_t remaining_ = 0;  // body or chunk bytes still to come
};

}  // namespace sluice::bench
