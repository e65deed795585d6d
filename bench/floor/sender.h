// How sluice-floor hands a round of writes to the kernel: one write(2) per socket (what
// sluice does through libuv), or all of them as io_uring SENDs submitted together (one
// io_uring_enter per up to `entries` sockets), to measure what batched submission would
// save on the fan-out (issue 12, item 2).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace sluice::floor {

struct SendItem {
    int fd = -1;
    const char* data = nullptr;
    std::size_t len = 0;
};

class Sender {
  public:
    virtual ~Sender() = default;
    // Sends every item without blocking. results[i] = bytes written, or -errno (-EAGAIN
    // when the socket's buffer is full). Returns the number of system calls made.
    virtual std::size_t send(const std::vector<SendItem>& items, std::vector<long>& results) = 0;
};

enum class Io : unsigned char { Write, Uring };

// nullptr with `error` set when the kernel refuses io_uring.
std::unique_ptr<Sender> make_sender(Io io, std::string* error);

}  // namespace sluice::floor
