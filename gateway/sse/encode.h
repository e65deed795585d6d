// SSE wire encoding (docs/protocol.md). Pure functions: each event is encoded once
// and the bytes are shared by every subscriber.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/history/channel_history.h"

namespace sluice::sse {

// "id: <id>\n" ["event: <name>\n"] one "data: <line>\n" per payload line, then "\n".
// LF, CRLF and CR all end a payload line; an empty payload gives one "data: " line.
// A trailing line break in the payload yields a final empty data line (so EventSource
// reproduces the payload with LF line ends). `event` must not contain CR/LF (callers
// validate names; this function drops any CR/LF it finds).
std::string encode_event(uint64_t id, std::string_view event, std::string_view payload);

// "event: gap\ndata: {\"from\":F,\"to\":T}\n\n" (no id: the client's Last-Event-ID stays);
// with reset, {\"from\":F,\"to\":T,\"reset\":true}: the channel's positions started over.
std::string encode_gap(uint64_t from, uint64_t to, bool reset = false);

// ": heartbeat\n\n"  or  "data: {\"type\":\"heartbeat\"}\n\n" (no id).
std::string encode_heartbeat_comment();
std::string encode_heartbeat_data();

// "retry: <ms>\n\n"
std::string encode_retry(uint64_t ms);

// The data string EventSource would hand to the page for encoded event bytes:
// data lines joined with "\n". Used by polling so both agree byte for byte.
std::string event_data_from_encoded(std::string_view encoded);

// The event name of encoded event bytes ("" when the event has none).
std::string event_name_from_encoded(std::string_view encoded);

// The top-level JSON "type" string of a payload, if the payload is a JSON object with
// a string "type" member. Never throws; invalid JSON gives nullopt.
std::optional<std::string> payload_type(std::string_view payload);

// An event as histories keep it: encoded bytes, payload type, and now (for its TTL).
// Built once per process for each event (the hub's encoder) and shared by every loop.
history::StoredEventPtr make_stored_event(uint64_t position, std::string_view event,
                                          std::string_view payload);

}  // namespace sluice::sse
