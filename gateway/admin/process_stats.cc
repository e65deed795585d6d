#include "gateway/admin/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace sluice::admin {

namespace {

// Seconds since the epoch at which the system booted ("btime" in /proc/stat).
std::optional<uint64_t> boot_time() {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
        if (key == "btime") {
            uint64_t t = 0;
            if (in >> t) return t;
            return std::nullopt;
        }
        in.ignore(1 << 20, '\n');
    }
    return std::nullopt;
}

uint64_t count_open_fds() {
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return 0;
    uint64_t n = 0;
    while (dirent* e = readdir(dir)) {
        if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
    return n > 0 ? n - 1 : 0; // the directory stream's own descriptor is not the process's
}

} // namespace

std::optional<ProcessStats> read_process_stats() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    // The command name (field 2) is in parentheses and may contain spaces: fields are
    // counted from the last ')'.
    size_t close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(close + 2));
    // Fields 3.. : state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    // utime(14) stime(15) cutime cstime priority nice num_threads itrealvalue
    // starttime(22) vsize(23) rss(24)
    std::string f[22];
    for (auto& x : f)
        if (!(fields >> x)) return std::nullopt;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    ProcessStats s;
    try {
        s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
        auto boot = boot_time();
        if (boot) s.start_time_seconds = static_cast<double>(*boot) + std::stod(f[19]) / ticks;
        s.virtual_bytes = std::stoull(f[20]);
        s.resident_bytes = std::stoull(f[21]) * page;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    s.open_fds = count_open_fds();
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) s.max_fds = static_cast<uint64_t>(lim.rlim_cur);
    return s;
}

} // namespace sluice::admin
