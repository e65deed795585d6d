// The io_uring BatchSender: SENDMSG entries with MSG_DONTWAIT, so each completes inside
// the submitting io_uring_enter (a full socket answers -EAGAIN at once, as a non-blocking
// write does, instead of io_uring parking the send until the socket drains: the stream's
// libuv write path takes over then).
#include <liburing.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gateway/loop/batch_sender.h"

namespace sluice::loop {
namespace {

class UringSender final : public BatchSender {
  public:
    static constexpr unsigned kEntries = kUringBatchSize;

    bool init(std::string* error) {
        int rc = io_uring_queue_init(kEntries, &ring_, 0);
        if (rc < 0) {
            *error = std::string("io_uring_queue_init: ") + std::strerror(-rc);
            return false;
        }
        ready_ = true;
        io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
        bool sendmsg = probe && io_uring_opcode_supported(probe, IORING_OP_SENDMSG);
        if (probe) io_uring_free_probe(probe);
        if (!sendmsg) {
            *error = "the kernel's io_uring has no SENDMSG";
            return false;
        }
        msgs_.resize(kEntries);
        return true;
    }

    ~UringSender() override {
        if (ready_) io_uring_queue_exit(&ring_);
    }

    void send(const std::vector<Offer>& offers, const std::vector<iovec>& iov,
              std::vector<long>& results) override {
        // An offer never submitted is refused (-EAGAIN: its stream writes with libuv); one
        // submitted whose outcome is unknown fails (-EIO: its stream is closed and its
        // client resumes from its last event, where a resend could duplicate bytes).
        results.assign(offers.size(), -EAGAIN);
        size_t next = 0;
        while (!broken_ && next < offers.size()) {
            unsigned queued = 0;
            for (; next < offers.size() && queued < kEntries; ++next) {
                const Offer& o = offers[next];
                if (o.fd < 0) continue;
                msghdr& msg = msgs_[queued];
                msg = msghdr{};
                msg.msg_iov = const_cast<iovec*>(&iov[o.first]);
                msg.msg_iovlen = o.count;
                io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
                io_uring_prep_sendmsg(sqe, o.fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
                io_uring_sqe_set_data64(sqe, next);
                results[next] = -EIO;
                ++queued;
            }
            if (queued == 0) break;
            int rc;
            do {
                rc = io_uring_submit_and_wait(&ring_, queued);
            } while (rc == -EINTR);
            unsigned seen = 0;
            for (; rc >= 0 && seen < queued; ++seen) {
                io_uring_cqe* cqe = nullptr;
                do {
                    rc = io_uring_wait_cqe(&ring_, &cqe);
                } while (rc == -EINTR);
                if (rc < 0) break;
                results[io_uring_cqe_get_data64(cqe)] = cqe->res;
                io_uring_cqe_seen(&ring_, cqe);
            }
            // Entries left in the ring must never go out later with stale buffers: the
            // sender stops for good and the dispatcher writes with libuv from now on.
            if (rc < 0) broken_ = true;
        }
    }

    bool broken() const override { return broken_; }

  private:
    io_uring ring_{};
    bool ready_ = false;
    bool broken_ = false;
    std::vector<msghdr> msgs_;  // the chunk's message headers, alive until it completes
};

}  // namespace

std::unique_ptr<BatchSender> make_uring_sender(std::string* error) {
    auto sender = std::make_unique<UringSender>();
    if (!sender->init(error)) return nullptr;
    return sender;
}

}  // namespace sluice::loop
