// The access log: one JSON line per answered request and one per closed SSE stream,
// written only from here. Connection fills a record and calls write(); rendering (field
// names, the query's redaction) is here so every line has the same shape
// (docs/operations.md, "Access log").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::app {

// One answered request. Views: valid only during the write() call.
struct RequestLogRecord {
    std::string_view request_id; // the client's X-Request-Id if usable, else generated
    std::string_view method;
    std::string_view path;  // as received, still percent-encoded
    std::string_view query; // as received; written with secrets redacted
    std::string_view route;
    int status = 0;
    uint64_t bytes = 0; // response bytes sent (head included)
    double seconds = 0;
    std::string_view remote;
    std::string_view upstream; // proxy routes: the server that answered (or failed last)
    std::string_view user_agent;
};

// One SSE stream, written when it closes.
struct StreamLogRecord {
    std::string_view request_id;
    std::string_view route;
    std::string_view channel;
    uint64_t events = 0;
    uint64_t bytes = 0;
    double seconds = 0;
    std::string_view reason; // why it closed (sse::close_reason_name)
    std::string_view remote;
    std::string_view user_agent;
};

namespace access_log {

// False when access_log is off: callers skip filling a record.
bool enabled();
void write(const RequestLogRecord& r);
void write(const StreamLogRecord& r);

// The line (without newline) for a record, stamped `ts`. For write() and tests.
std::string render(const RequestLogRecord& r, std::string_view ts);
std::string render(const StreamLogRecord& r, std::string_view ts);

// The query string with the value of every credential-like parameter (token,
// access_token, jwt, auth, key, api_key, password, secret; any case, also when
// percent-encoded) replaced by REDACTED. Everything else is kept as received.
std::string redact_query(std::string_view query);

} // namespace access_log
} // namespace sluice::app
