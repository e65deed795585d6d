// Sequenced publishing, the Redis side: the Lua source of the Redis 7 function library
// `sluice` (FCALL sluice_publish 1 <channel> <payload> [event] -> position), the envelope
// it PUBLISHes, and the argv builders / reply parsers for reading channel history back.
// Pure (no I/O): the broker sends the argv through a RedisLink.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/redis_link.h"

namespace sluice::broker {

inline constexpr const char* kFunctionLibrary = "sluice";
inline constexpr const char* kPublishFunction = "sluice_publish";

// The library, with key_prefix, history_size (XADD MAXLEN =), ttl (PEXPIRE of the log)
// and positions_ttl (PEXPIRE of the counter; at least ttl) baked in; a ttl of 0 means
// keys never expire. sluice_publish, atomically: INCR <prefix>{<channel>}:seq -> pos;
// XADD <prefix>{<channel>}:log MAXLEN = size <pos>-0 p <payload> [e <event>]; PEXPIRE
// the counter to positions_ttl and the log to ttl; PUBLISH <prefix>seq:<channel>
// <envelope>; returns pos. When the counter starts again at 1 (it expired or was lost), a
// leftover log is deleted first so XADD's IDs stay increasing. Event names containing
// NUL, CR or LF are refused with an error reply, and so is a position past kMaxPosition
// (the counter is put back). sharded (Redis Cluster): the envelope is SPUBLISHed on
// "<prefix>seq:{<channel>}" (in the slot of the channel's keys) instead.
std::string sluice_function_library(const std::string& key_prefix, uint64_t history_size,
                                    std::chrono::milliseconds ttl,
                                    std::chrono::milliseconds positions_ttl, bool sharded = false);

// Sequenced events travel on their own pub/sub namespace, "<prefix>seq:<channel>", which
// only the function writes: a plain PUBLISH to <channel> can never pass for a sequenced
// event (issue 8), and Redis ACLs can give plain publishers the channel without the
// namespace. sequenced_pattern() is the PSUBSCRIBE pattern for a route's channel pattern
// (glob characters of the prefix escaped).
std::string sequenced_channel(const std::string& key_prefix, const std::string& channel);
std::string sequenced_pattern(const std::string& key_prefix, const std::string& channel_pattern);

// "<prefix>{<channel>}:seq" and "<prefix>{<channel>}:log"; the hash tag keeps both in
// the channel's cluster slot.
std::string seq_key(const std::string& key_prefix, const std::string& channel);
std::string log_key(const std::string& key_prefix, const std::string& channel);

// Envelope of a sequenced message: "\0sluice1\0" <pos> "\0" <event> "\0" <payload>.
// The payload (everything after the fourth NUL) may contain any bytes.
struct Envelope {
    uint64_t position = 0;
    std::string event;
    std::string payload;
};
std::string envelope_prefix();  // "\0sluice1\0" (9 bytes)
bool looks_like_envelope(std::string_view message);
// nullopt if malformed: position not a decimal number in 1..kMaxPosition (2^53-1; the
// function refuses to count further), missing separator, or an event name with CR or LF (it could not be
// written as an SSE field).
std::optional<Envelope> parse_envelope(std::string_view message);
// What the Lua function publishes (tests, and anything that must mimic it).
std::string build_envelope(uint64_t position, std::string_view event, std::string_view payload);

// FUNCTION LOAD REPLACE <library>
std::vector<std::string> function_load_argv(const std::string& library);
// FUNCTION LIST LIBRARYNAME sluice  (an empty array reply: the library is missing)
std::vector<std::string> function_list_argv();
// FCALL sluice_publish 1 <channel> <payload> [event]  (event omitted when empty)
std::vector<std::string> fcall_publish_argv(const std::string& channel, const std::string& payload,
                                            const std::string& event);
// XRANGE <log_key> <from>-0 <to>-0 [COUNT count]: positions from..to inclusive.
// from 0 means "-" (the oldest), to 0 or UINT64_MAX means "+" (the newest), count 0
// means no COUNT.
std::vector<std::string> xrange_argv(const std::string& key_prefix, const std::string& channel,
                                     uint64_t from, uint64_t to, uint64_t count);

// One history entry read back from a channel's log.
struct LogEntry {
    uint64_t position = 0;
    std::string event;
    std::string payload;
};
// Entries of an XRANGE reply in order; entries that are malformed (ID not "<pos>-0" with
// pos in 1..kMaxPosition, no "p" field, odd field list) are skipped. A non-array reply gives an empty vector.
std::vector<LogEntry> parse_xrange_reply(const RedisValue& reply);

// The counter from "GET <seq_key>": 0 for no key; nullopt for anything that is not a
// position in 1..kMaxPosition (the key was written by something other than the function).
std::optional<uint64_t> parse_seq_reply(const RedisValue& reply);

// Loading a channel reads the hub's head, then the counter with GET (0: no counter).
// True if the counter started over (it expired after positions_ttl) and the hub has not
// yet heard the restart through pub/sub: within one count the hub is never ahead of the
// counter, since Redis counts an event before publishing it.
bool restart_in_flight(uint64_t hub_head, uint64_t redis_head);

}  // namespace sluice::broker
