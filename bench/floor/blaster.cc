#include "bench/floor/blaster.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
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
    std::vector<Socket> socks(fds.size());
    int ep = epoll_create1(0);
    for (std::size_t i = 0; i < fds.size(); ++i) {
        socks[i].fd = fds[i];
        epoll_event ev{};
        ev.events = EPOLLOUT | EPOLLET;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    std::vector<epoll_event> events(4096);
    // Edge-triggered: every socket reports "writable" once at registration; consume that.
    while (epoll_wait(ep, events.data(), static_cast<int>(events.size()), 0) > 0) {
    }

    std::string buf;
    buf.reserve(opt.batch * (opt.size + 64) + 256);
    rusage ru0{};
    getrusage(RUSAGE_SELF, &ru0);
    double t0 = now_s(CLOCK_MONOTONIC);
    double deadline = t0 + opt.duration_s;
    uint64_t seq = 1;
    uint32_t batch = opt.batch == 0 ? 1 : opt.batch;

    auto write_batch = [&](Socket& s, const std::string& bytes) {
        ++r.writes;
        ssize_t n = write(s.fd, bytes.data(), bytes.size());
        if (n == static_cast<ssize_t>(bytes.size())) {
            r.deliveries += batch;
            r.bytes += bytes.size();
        } else if (n >= 0) {
            r.bytes += static_cast<uint64_t>(n);
            s.pending.assign(bytes, static_cast<std::size_t>(n));
            s.blocked = true;
        } else {
            r.skipped += batch;  // EAGAIN (or an error): this socket misses the round
            s.blocked = true;
        }
    };

    for (;;) {
        if (opt.mode == Mode::Broadcast) {
            buf.clear();
            append_events(buf, 0, seq, batch, opt.size);
            if (r.event_bytes == 0) r.event_bytes = buf.size() / batch;
        }
        uint32_t open = 0;
        for (std::size_t i = 0; i < socks.size(); ++i) {
            Socket& s = socks[i];
            if (s.blocked) {
                r.skipped += batch;
                continue;
            }
            ++open;
            if (opt.mode == Mode::Sessions) {
                buf.clear();
                append_events(buf, static_cast<uint32_t>(i), seq, batch, opt.size);
                if (r.event_bytes == 0) r.event_bytes = buf.size() / batch;
            }
            write_batch(s, buf);
        }
        seq += batch;
        // Sockets that drained since: finish their partial batch and take them back.
        int timeout = open == 0 ? 10 : 0;
        int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout);
        for (int k = 0; k < n; ++k) {
            Socket& s = socks[events[k].data.u64];
            if (!s.blocked) continue;
            if (s.pending.empty()) {
                s.blocked = false;
                continue;
            }
            ++r.writes;
            ssize_t w = write(s.fd, s.pending.data(), s.pending.size());
            if (w > 0) {
                r.bytes += static_cast<uint64_t>(w);
                s.pending.erase(0, static_cast<std::size_t>(w));
            }
            if (s.pending.empty()) {
                s.blocked = false;
                r.deliveries += batch;
            }
        }
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
