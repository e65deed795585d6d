// The bench's event payload: a JSON object carrying the run id, the channel index, a
// per-channel sequence number (1, 2, 3...) and the send time in CLOCK_REALTIME nanoseconds,
// padded to a requested size:
//   {"type":"bench","run":"1f2e3d4c","ch":3,"seq":17,"ts":1712345678901234567,"pad":"xx"}
// Receivers parse it back cheaply (no JSON library). Pure; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::bench {

struct PayloadFields {
    std::string_view run;  // views into the parsed text
    uint32_t ch = 0;
    uint64_t seq = 0;
    int64_t ts_ns = 0;
};

// Appends one payload to `out`. When `size` is larger than the natural length, the object is
// padded to exactly `size` bytes (a "pad" member, or spaces when fewer than 9 bytes are missing);
// when smaller, the payload keeps its natural length.
void append_payload(std::string& out, std::string_view run, uint32_t ch, uint64_t seq,
                    int64_t ts_ns, std::size_t size);
std::string make_payload(std::string_view run, uint32_t ch, uint64_t seq, int64_t ts_ns,
                         std::size_t size);

// Reads the fields back from a payload (or from text that embeds one, such as an envelope a
// peer wraps around it). nullopt when it is not a bench payload or a field is malformed.
std::optional<PayloadFields> parse_payload(std::string_view text);

// A random 8-hex-digit id, so events left in a channel's history by an earlier run are told
// apart from this run's.
std::string new_run_id();

}  // namespace sluice::bench
