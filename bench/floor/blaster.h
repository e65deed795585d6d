// sluice-floor's measurement: write SSE events, encoded exactly as sluice encodes them
// ("id: N\ndata: <bench payload>\n\n"), to pre-connected sockets for a fixed time, and
// count the complete deliveries against this process's CPU time. A round writes one event
// (or `batch`) to every socket: back to back in a tight loop (rate 0: readers never get to
// sleep), or `rate` rounds a second with the writer and the readers asleep in between (the
// shape of S2 at 5-20 events/s, where every delivery wakes a reader). A socket whose
// buffer is full is skipped (no retry spinning) until epoll says it is writable again, so
// CPU is spent only on writes that move bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/floor/sender.h"  // Io

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
    double rate = 0;        // rounds per second; 0 = back to back
    Io io = Io::Write;      // write(2) per socket, or io_uring SENDs submitted per round
};

struct BlastResult {
    uint64_t deliveries = 0;   // events written completely
    uint64_t skipped = 0;      // events a full socket missed
    uint64_t writes = 0;       // sends (one per socket per round, plus the ends of partial ones)
    uint64_t syscalls = 0;     // system calls that made them (fewer than writes with io_uring)
    uint64_t rounds = 0;
    uint64_t bytes = 0;
    std::size_t event_bytes = 0;  // size of one encoded event (the first one)
    double wall_s = 0;
    double cpu_user_s = 0;
    double cpu_sys_s = 0;
    std::string error;  // set when nothing could be measured (io_uring refused)
};

BlastResult blast(const std::vector<int>& fds, const BlastOptions& opt);

}  // namespace sluice::floor
