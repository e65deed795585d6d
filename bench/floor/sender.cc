#include "bench/floor/sender.h"

#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sluice::floor {
namespace {

class WriteSender final : public Sender {
  public:
    std::size_t send(const std::vector<SendItem>& items, std::vector<long>& results) override {
        results.resize(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            ssize_t n = write(items[i].fd, items[i].data, items[i].len);
            results[i] = n >= 0 ? n : -errno;
        }
        return items.size();
    }
};

// Submission and completion queues sized for one chunk of a round; larger rounds go in
// several chunks. MSG_DONTWAIT makes a full socket complete at once with -EAGAIN, as a
// non-blocking write(2) would, instead of io_uring parking the send until it is writable.
class UringSender final : public Sender {
  public:
    static constexpr unsigned kEntries = 4096;

    bool init(std::string* error) {
        int rc = io_uring_queue_init(kEntries, &ring_, 0);
        if (rc < 0) {
            *error = std::string("io_uring_queue_init: ") + std::strerror(-rc);
            return false;
        }
        ready_ = true;
        return true;
    }

    ~UringSender() override {
        if (ready_) io_uring_queue_exit(&ring_);
    }

    std::size_t send(const std::vector<SendItem>& items, std::vector<long>& results) override {
        results.assign(items.size(), -EIO);
        std::size_t calls = 0;
        for (std::size_t first = 0; first < items.size(); first += kEntries) {
            std::size_t count = std::min<std::size_t>(kEntries, items.size() - first);
            for (std::size_t i = first; i < first + count; ++i) {
                io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
                io_uring_prep_send(sqe, items[i].fd, items[i].data, items[i].len, MSG_DONTWAIT);
                io_uring_sqe_set_data64(sqe, i);
            }
            io_uring_submit_and_wait(&ring_, static_cast<unsigned>(count));
            ++calls;
            std::size_t seen = 0;
            while (seen < count) {
                io_uring_cqe* cqe = nullptr;
                if (io_uring_wait_cqe(&ring_, &cqe) < 0) break;
                results[io_uring_cqe_get_data64(cqe)] = cqe->res;
                io_uring_cqe_seen(&ring_, cqe);
                ++seen;
            }
        }
        return calls;
    }

  private:
    io_uring ring_{};
    bool ready_ = false;
};

}  // namespace

std::unique_ptr<Sender> make_sender(Io io, std::string* error) {
    if (io == Io::Write) return std::make_unique<WriteSender>();
    auto uring = std::make_unique<UringSender>();
    if (!uring->init(error)) return nullptr;
    return uring;
}

}  // namespace sluice::floor
