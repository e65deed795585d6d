// Batched submission of a loop turn's writes (the `io_uring` switch). Without it, the
// dispatcher's end-of-turn flush offers each stream's queue to the kernel with its own
// system call (uv_try_write); with it, every stream with bytes to send puts them in one
// batch and the batch goes to the kernel at once, so a broadcast to 10,000 streams costs
// a few io_uring_enter calls instead of 10,000 writes.
//
//   flush round --> Flushable::offer() each (no callbacks run: every socket stays open)
//               --> BatchSender::send() the offers, results in order
//               --> Flushable::offered(result) each, which finishes like flush_now()
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace sluice::loop {

// One stream's part of a batch: iovecs [first, first + count) of the batch's iovec list.
struct Offer {
    int fd = -1;  // -1: the stream offers nothing this way (it flushes on its own)
    size_t first = 0;
    size_t count = 0;
};

class BatchSender {
  public:
    virtual ~BatchSender() = default;
    // Sends every offer with fd >= 0 without blocking and without SIGPIPE; results[i] is
    // the bytes the kernel took for offers[i], or -errno (-EAGAIN: its buffer is full).
    virtual void send(const std::vector<Offer>& offers, const std::vector<iovec>& iov,
                      std::vector<long>& results) = 0;
    // The sender failed in a way that leaves it unusable (an io_uring_enter error): the
    // dispatcher drops it and writes with libuv from then on.
    virtual bool broken() const = 0;
};

// Sends per io_uring_enter of the io_uring sender (its ring's size).
constexpr size_t kUringBatchSize = 1024;

// An io_uring sender (one ring per loop). nullptr with `error` set when the kernel refuses
// io_uring or its SENDMSG; the dispatcher then writes with libuv as without the switch.
std::unique_ptr<BatchSender> make_uring_sender(std::string* error);

}  // namespace sluice::loop
