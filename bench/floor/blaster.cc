#include "bench/floor/blaster.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
#include <memory>
#include <string>

#include "bench/sluice_bench/payload.h"

namespace sluice::floor {
namespace {

double now_s(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double seconds(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// Appends `batch` events of one channel, as sluice's sse::encode_event writes them.
void append_events(std::string& out, uint32_t ch, uint64_t first_seq, uint32_t batch,
                   std::size_t size) {
    for (uint32_t b = 0; b < batch; ++b) {
        uint64_t seq = first_seq + b;
        char digits[24];
        auto res = std::to_chars(digits, digits + sizeof digits, seq);
        out.append("id: ");
        out.append(digits, res.ptr);
        out.append("\ndata: ");
        bench::append_payload(out, "f1008f10", ch, seq, realtime_ns(), size);
        out.append("\n\n");
    }
}

struct Socket {
    int fd = -1;
    bool blocked = false;
    std::string pending;  // unwritten tail of a partly written batch
};

}  // namespace

BlastResult blast(const std::vector<int>& fds, const BlastOptions& opt) {
    BlastResult r;
    std::unique_ptr<loop::BatchSender> sender = make_sender(opt.io, &r.error);
    if (!sender) return r;
    std::vector<Socket> socks(fds.size());
    // Like a server's event loop, a socket is watched for "writable" only while it has
    // refused bytes (one-shot, re-armed when it refuses again): watching every socket
    // all the time would wake the writer on every ACK and charge that to the floor.
    int ep = epoll_create1(0);
    for (std::size_t i = 0; i < fds.size(); ++i) {
        socks[i].fd = fds[i];
        epoll_event ev{};
        ev.events = 0;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    auto watch_writable = [&](std::size_t i) {
        epoll_event ev{};
        ev.events = EPOLLOUT | EPOLLONESHOT;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_MOD, socks[i].fd, &ev);
    };
    std::vector<epoll_event> events(4096);

    const uint32_t batch = opt.batch == 0 ? 1 : opt.batch;
    // The round's bytes: one buffer for every socket (broadcast) or one per socket
    // (sessions); they must stay put until the sends complete.
    std::vector<std::string> bufs(opt.mode == Mode::Broadcast ? 1 : socks.size());
    for (auto& b : bufs) b.reserve(batch * (opt.size + 64) + 256);
    std::vector<loop::Offer> offers;
    std::vector<iovec> iov;
    std::vector<std::size_t> owner;  // offers[k] goes to socks[owner[k]]
    std::vector<long> results;
    offers.reserve(socks.size());
    iov.reserve(socks.size());
    owner.reserve(socks.size());

    // Sockets that drained since they filled up: finish their partial batch and take them
    // back. Waits up to timeout_ms for the first one.
    auto take_back_drained = [&](int timeout_ms) {
        int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
        for (int k = 0; k < n; ++k) {
            Socket& s = socks[events[k].data.u64];
            if (!s.blocked) continue;
            if (s.pending.empty()) {
                s.blocked = false;
                continue;
            }
            ++r.writes;
            ++r.syscalls;
            ssize_t w = write(s.fd, s.pending.data(), s.pending.size());
            if (w > 0) {
                r.bytes += static_cast<uint64_t>(w);
                s.pending.erase(0, static_cast<std::size_t>(w));
            }
            if (s.pending.empty()) {
                s.blocked = false;
                r.deliveries += batch;
            } else {
                watch_writable(events[k].data.u64);
            }
        }
    };

    rusage ru0{};
    getrusage(RUSAGE_SELF, &ru0);
    double t0 = now_s(CLOCK_MONOTONIC);
    double deadline = t0 + opt.duration_s;
    uint64_t seq = 1;

    for (;;) {
        if (opt.rate > 0) {
            // Asleep until the round is due, like a server between events.
            double due = t0 + static_cast<double>(r.rounds) / opt.rate;
            for (double now = now_s(CLOCK_MONOTONIC); now < due; now = now_s(CLOCK_MONOTONIC))
                take_back_drained(static_cast<int>((due - now) * 1000.0) + 1);
        }
        offers.clear();
        iov.clear();
        owner.clear();
        if (opt.mode == Mode::Broadcast) {
            bufs[0].clear();
            append_events(bufs[0], 0, seq, batch, opt.size);
        }
        for (std::size_t i = 0; i < socks.size(); ++i) {
            if (socks[i].blocked) {
                r.skipped += batch;
                continue;
            }
            std::string* buf = &bufs[0];
            if (opt.mode == Mode::Sessions) {
                buf = &bufs[i];
                buf->clear();
                append_events(*buf, static_cast<uint32_t>(i), seq, batch, opt.size);
            }
            offers.push_back(loop::Offer{socks[i].fd, iov.size(), 1});
            iov.push_back(iovec{buf->data(), buf->size()});
            owner.push_back(i);
        }
        if (r.event_bytes == 0 && !iov.empty()) r.event_bytes = iov[0].iov_len / batch;
        sender->send(offers, iov, results);
        r.syscalls += opt.io == Io::Uring ? (offers.size() + loop::kUringBatchSize - 1) / loop::kUringBatchSize
                                          : offers.size();
        r.writes += offers.size();
        for (std::size_t k = 0; k < offers.size(); ++k) {
            Socket& s = socks[owner[k]];
            long n = results[k];
            const iovec& v = iov[k];
            if (n == static_cast<long>(v.iov_len)) {
                r.deliveries += batch;
                r.bytes += v.iov_len;
            } else if (n >= 0) {
                r.bytes += static_cast<uint64_t>(n);
                s.pending.assign(static_cast<const char*>(v.iov_base) + n,
                                 v.iov_len - static_cast<std::size_t>(n));
                s.blocked = true;
                watch_writable(owner[k]);
            } else {
                r.skipped += batch;  // EAGAIN (or an error): this socket misses the round
                s.blocked = true;
                watch_writable(owner[k]);
            }
        }
        seq += batch;
        ++r.rounds;
        if (opt.rate <= 0) take_back_drained(offers.empty() ? 10 : 0);
        if (now_s(CLOCK_MONOTONIC) >= deadline) break;
    }

    r.wall_s = now_s(CLOCK_MONOTONIC) - t0;
    rusage ru1{};
    getrusage(RUSAGE_SELF, &ru1);
    r.cpu_user_s = seconds(ru1.ru_utime) - seconds(ru0.ru_utime);
    r.cpu_sys_s = seconds(ru1.ru_stime) - seconds(ru0.ru_stime);
    close(ep);
    return r;
}

}  // namespace sluice::floor
