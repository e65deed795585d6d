// sluice-floor's connections: N loopback TCP connections made before the clock starts. The
// accepted (server) ends stay in this process for the writer; the client ends live in a
// forked reader process that drains them as fast as it can, so the writer's CPU time is a
// server's share only (loopback delivery work done in the writer's system calls included).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::floor {

struct SocketPairs {
    std::vector<int> server_fds;  // non-blocking, accepted ends, in connection order
    pid_t reader = -1;            // the forked reader; it exits when every socket closes
    int report_fd = -1;           // pipe from the reader: its byte count, at exit
};

// Connects `count` sockets to a listener of this process and forks the reader. Source
// addresses cycle over 127.0.0.2..127.0.0.254 so large counts do not run out of ports.
// Returns false with *error set (nothing left open) on failure.
bool make_socket_pairs(uint32_t count, SocketPairs* out, std::string* error);

// Closes the server ends, waits for the reader and returns its user+system CPU seconds and
// the bytes it read.
struct ReaderResult {
    double cpu_s = 0;
    uint64_t bytes = 0;
};
ReaderResult close_socket_pairs(SocketPairs& pairs);

}  // namespace sluice::floor
