// How sluice-floor hands a round of writes to the kernel: one write(2) per socket (what
// sluice does through libuv without the io_uring switch), or sluice's own io_uring batch
// sender (gateway/loop/batch_sender.h: every socket's send in one submission per 1,024),
// to measure what batched submission saves on the fan-out (issue 12, item 2).
#pragma once

#include <sys/uio.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/loop/batch_sender.h"

namespace sluice::floor {

enum class Io : unsigned char { Write, Uring };

// nullptr with `error` set when the kernel refuses io_uring.
std::unique_ptr<loop::BatchSender> make_sender(Io io, std::string* error);

}  // namespace sluice::floor
