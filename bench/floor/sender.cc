#include "bench/floor/sender.h"

#include <unistd.h>

#include <cerrno>

namespace sluice::floor {
namespace {

// write(2) per socket: the path a server takes without batched submission.
class WriteSender final : public loop::BatchSender {
  public:
    void send(const std::vector<loop::Offer>& offers, const std::vector<iovec>& iov,
              std::vector<long>& results) override {
        results.resize(offers.size());
        for (size_t i = 0; i < offers.size(); ++i) {
            const loop::Offer& o = offers[i];
            ssize_t n = o.count == 1 ? write(o.fd, iov[o.first].iov_base, iov[o.first].iov_len)
                                     : writev(o.fd, &iov[o.first], static_cast<int>(o.count));
            results[i] = n >= 0 ? n : -errno;
        }
    }
    bool broken() const override { return false; }
};

}  // namespace

std::unique_ptr<loop::BatchSender> make_sender(Io io, std::string* error) {
    if (io == Io::Write) return std::make_unique<WriteSender>();
    return loop::make_uring_sender(error);
}

}  // namespace sluice::floor
