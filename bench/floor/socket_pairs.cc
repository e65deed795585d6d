#include "bench/floor/socket_pairs.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace sluice::floor {
namespace {

constexpr uint32_t kFirstSource = 0x7f000002;  // 127.0.0.2
constexpr uint32_t kSourceCount = 253;         // ..127.0.0.254

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// The reader process: connect every client end, then drain them all until each one closes.
[[noreturn]] void run_reader(uint16_t port, uint32_t count, int report_fd) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::vector<int> fds;
    fds.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) _exit(3);
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(kFirstSource + i % kSourceCount);
        if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) _exit(4);
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_port = htons(port);
        dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) _exit(5);
        set_nonblocking(fd);
        fds.push_back(fd);
    }
    int ep = epoll_create1(0);
    for (int fd : fds) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    uint64_t bytes = 0;
    uint32_t open = count;
    static char buf[256 * 1024];
    epoll_event events[512];
    while (open > 0) {
        int n = epoll_wait(ep, events, 512, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        for (int k = 0; k < n; ++k) {
            int fd = events[k].data.fd;
            ssize_t got = read(fd, buf, sizeof buf);
            if (got > 0) {
                bytes += static_cast<uint64_t>(got);
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                close(fd);
                --open;
            }
        }
    }
    ssize_t w = write(report_fd, &bytes, sizeof bytes);
    _exit(w == sizeof bytes ? 0 : 6);
}

}  // namespace

bool make_socket_pairs(uint32_t count, SocketPairs* out, std::string* error) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) return *error = errno_text("socket"), false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 4096) != 0 ||
        getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        *error = errno_text("listen");
        close(lfd);
        return false;
    }
    int report[2];
    if (pipe(report) != 0) {
        *error = errno_text("pipe");
        close(lfd);
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *error = errno_text("fork");
        close(lfd);
        close(report[0]);
        close(report[1]);
        return false;
    }
    if (pid == 0) {
        close(lfd);
        close(report[0]);
        run_reader(ntohs(addr.sin_port), count, report[1]);
    }
    close(report[1]);
    out->reader = pid;
    out->report_fd = report[0];
    out->server_fds.reserve(count);
    while (out->server_fds.size() < count) {
        pollfd p{lfd, POLLIN, 0};
        int ready = poll(&p, 1, 10'000);
        if (ready <= 0) {
            *error = "the reader stopped connecting after " +
                     std::to_string(out->server_fds.size()) + " connections";
            break;
        }
        int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            *error = errno_text("accept");
            break;
        }
        out->server_fds.push_back(fd);
    }
    close(lfd);
    if (out->server_fds.size() < count) {
        close_socket_pairs(*out);
        return false;
    }
    return true;
}

ReaderResult close_socket_pairs(SocketPairs& pairs) {
    ReaderResult r;
    for (int fd : pairs.server_fds) close(fd);
    pairs.server_fds.clear();
    if (pairs.reader > 0) {
        int status = 0;
        rusage ru{};
        if (wait4(pairs.reader, &status, 0, &ru) == pairs.reader) {
            r.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                      static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        }
        pairs.reader = -1;
    }
    if (pairs.report_fd >= 0) {
        uint64_t bytes = 0;
        if (read(pairs.report_fd, &bytes, sizeof bytes) == sizeof bytes) r.bytes = bytes;
        close(pairs.report_fd);
        pairs.report_fd = -1;
    }
    return r;
}

}  // namespace sluice::floor
