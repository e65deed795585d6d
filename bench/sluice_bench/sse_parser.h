// Incremental parser for a text/event-stream body, following the WHATWG "event stream
// interpretation" rules: an optional leading BOM, CR/LF/CRLF line ends (also split across
// chunks), one optional space after the colon, multi-line data, an id that persists from event
// to event, retry, comments. One parser per connection; pure, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::bench {

// Views are valid only during the handler call.
struct SseEvent {
    std::string_view type;           // "message" when the event had no (or an empty) event: field
    std::string_view data;           // data lines joined with '\n'
    std::string_view last_event_id;  // the id in force at dispatch, as EventSource reports it
};

class SseHandler {
public:
    virtual ~SseHandler() = default;
    virtual void on_event(const SseEvent& ev) = 0;
    // Text after the ':' of a comment line, unstripped (": heartbeat" gives " heartbeat").
    virtual void on_comment(std::string_view text) { (void)text; }
    // A valid retry: field (ASCII digits only).
    virtual void on_retry(uint64_t ms) { (void)ms; }
};

class SseParser {
public:
    static constexpr std::size_t kDefaultMaxBuffer = 16 * 1024 * 1024;

    explicit SseParser(std::size_t max_buffer = kDefaultMaxBuffer) : max_buffer_(max_buffer) {}

    // Feeds the next chunk of the body, calling `handler` for every complete line in it.
    // Returns false once a partial line or an event's data exceeds max_buffer; the parser
    // then ignores all input until restart(). The handler must not call back into the parser.
    bool feed(std::string_view chunk, SseHandler& handler);

    // A new response body begins (reconnect): drops the partial line and event, checks for a
    // BOM again, and keeps the last event id, which EventSource sends as Last-Event-ID.
    void restart();

    std::string_view last_event_id() const { return last_id_; }
    bool failed() const { return failed_; }

private:
    void process_line(std::string_view line, SseHandler& handler);
    void dispatch(SseHandler& handler);
    std::string_view skip_bom(std::string_view chunk);

    std::size_t max_buffer_;
    std::string line_;       // a line whose end has not arrived yet
    std::string data_;       // data buffer: each data: value followed by '\n'
    std::string type_;       // event type buffer
    std::string id_buffer_;  // last event ID buffer (set by id:, kept across events)
    std::string last_id_;    // copied from id_buffer_ at each dispatch
    int bom_matched_ = 0;    // bytes of a leading BOM seen so far
    bool bom_done_ = false;  // the start of the stream has been checked for a BOM
    bool skip_lf_ = false;   // the last chunk ended with CR: a leading LF completes that CRLF
    bool failed_ = false;
};

}  // namespace sluice::bench
