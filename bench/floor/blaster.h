// sluice-floor's measurement: write SSE events, encoded exactly as sluice encodes them
// ("id: N\ndata: <bench payload>\n\n"), to pre-connected sockets in a tight loop for a fixed
// time, and count the complete deliveries against this process's CPU time. A socket whose
// buffer is full is skipped (no retry spinning) until epoll says it is writable again, so CPU
// is spent only on writes that move bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::floor {

enum class Mode : uint8_t {
    Broadcast,  // one event per round, the same bytes to every socket (S2's shape)
    Sessions,   // every socket gets its own channel's event each round (S3's shape)
};

struct BlastOptions {
    Mode mode = Mode::Broadcast;
    double duration_s = 3;
    std::size_t size = 0;   // payload bytes, as sluice-bench --size (0 = natural, ~80)
    uint32_t batch = 1;     // events coalesced into one write per socket
};

struct BlastResult {
    uint64_t deliveries = 0;   // events written completely
    uint64_t skipped = 0;      // events a full socket missed
    uint64_t writes = 0;       // write system calls
    uint64_t bytes = 0;
    std::size_t event_bytes = 0;  // size of one encoded event (the first one)
    double wall_s = 0;
    double cpu_user_s = 0;
    double cpu_sys_s = 0;
};

BlastResult blast(const std::vector<int>& fds, const BlastOptions& opt);

}  // namespace sluice::floor
