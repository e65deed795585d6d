// sluice-floor: the physical limit that sluice is judged against. For each connection count,
// it connects that many loopback sockets (client ends drained by a forked reader), then
// writes SSE events to them for --duration seconds, back to back or --rate rounds a second,
// with write(2) or io_uring, and reports deliveries per CPU-second of the writing process:
// what any server on this machine pays at least for one delivery of that shape. One JSON
// line per count on stdout, a summary on stderr.
#include <sys/resource.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "bench/floor/blaster.h"
#include "bench/floor/socket_pairs.h"

namespace {

using sluice::floor::BlastOptions;
using sluice::floor::Io;
using sluice::floor::Mode;

constexpr std::string_view kHelp =
    "usage: sluice-floor [options]\n"
    "  --connections LIST  comma-separated connection counts (default 1000,10000)\n"
    "  --mode MODE         broadcast: one event to every socket per round (default);\n"
    "                      sessions: each socket its own channel's event per round\n"
    "  --size BYTES        payload size as sluice-bench --size (default natural, ~80)\n"
    "  --batch K           events coalesced per write (default 1)\n"
    "  --rate R            rounds (events to every socket) per second, writer and readers\n"
    "                      asleep in between, as at S2's rates; 0 = back to back (default)\n"
    "  --io IO             write: one write(2) per socket (default); uring: a round's sends\n"
    "                      submitted together through io_uring\n"
    "  --duration S        seconds of writing per count (default 3)\n"
    "  --json-only         no summary on stderr\n";

struct Args {
    std::vector<uint32_t> counts{1000, 10000};
    BlastOptions blast;
    bool json_only = false;
};

template <class T>
bool parse_number(std::string_view text, T* out) {
    auto res = std::from_chars(text.data(), text.data() + text.size(), *out);
    return res.ec == std::errc() && res.ptr == text.data() + text.size();
}

bool parse_args(int argc, char** argv, Args* a, std::string* error) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view value;
        if (auto eq = arg.find('='); eq != std::string_view::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        } else if (arg != "--json-only" && arg != "--help") {
            if (i + 1 >= argc) return *error = std::string(arg) + " needs a value", false;
            value = argv[++i];
        }
        if (arg == "--help") {
            std::fwrite(kHelp.data(), 1, kHelp.size(), stdout);
            std::exit(0);
        } else if (arg == "--json-only") {
            a->json_only = true;
        } else if (arg == "--connections") {
            a->counts.clear();
            while (!value.empty()) {
                auto comma = value.find(',');
                uint32_t n = 0;
                if (!parse_number(value.substr(0, comma), &n) || n == 0)
                    return *error = "--connections: expected counts like 1000,10000", false;
                a->counts.push_back(n);
                value = comma == std::string_view::npos ? "" : value.substr(comma + 1);
            }
            if (a->counts.empty()) return *error = "--connections: empty list", false;
        } else if (arg == "--mode") {
            if (value == "broadcast") a->blast.mode = Mode::Broadcast;
            else if (value == "sessions") a->blast.mode = Mode::Sessions;
            else return *error = "--mode: broadcast or sessions", false;
        } else if (arg == "--size") {
            if (!parse_number(value, &a->blast.size)) return *error = "--size: bytes", false;
        } else if (arg == "--batch") {
            if (!parse_number(value, &a->blast.batch) || a->blast.batch == 0)
                return *error = "--batch: a count >= 1", false;
        } else if (arg == "--rate") {
            std::string v(value);
            char* end = nullptr;
            a->blast.rate = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || a->blast.rate < 0)
                return *error = "--rate: rounds per second >= 0", false;
        } else if (arg == "--io") {
            if (value == "write") a->blast.io = Io::Write;
            else if (value == "uring") a->blast.io = Io::Uring;
            else return *error = "--io: write or uring", false;
        } else if (arg == "--duration") {
            std::string v(value);
            char* end = nullptr;
            a->blast.duration_s = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || a->blast.duration_s <= 0)
                return *error = "--duration: seconds > 0", false;
        } else {
            return *error = "unknown option " + std::string(arg), false;
        }
    }
    return true;
}

uint64_t raise_nofile_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    std::string error;
    if (!parse_args(argc, argv, &args, &error)) {
        std::fprintf(stderr, "sluice-floor: %s\n%s", error.c_str(), kHelp.data());
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    uint64_t nofile = raise_nofile_limit();
    int status = 0;
    for (uint32_t count : args.counts) {
        if (count + 64 > nofile) {
            std::fprintf(stderr, "sluice-floor: %u connections need more than the open-files "
                                 "limit %llu allows per process\n",
                         count, static_cast<unsigned long long>(nofile));
            status = 1;
            continue;
        }
        sluice::floor::SocketPairs pairs;
        if (!sluice::floor::make_socket_pairs(count, &pairs, &error)) {
            std::fprintf(stderr, "sluice-floor: %u connections: %s\n", count, error.c_str());
            status = 1;
            continue;
        }
        auto r = sluice::floor::blast(pairs.server_fds, args.blast);
        auto reader = sluice::floor::close_socket_pairs(pairs);
        if (!r.error.empty()) {
            std::fprintf(stderr, "sluice-floor: %s\n", r.error.c_str());
            return 1;
        }
        const char* io = args.blast.io == Io::Uring ? "uring" : "write";
        double cpu = r.cpu_user_s + r.cpu_sys_s;
        double per_cpu = cpu > 0 ? static_cast<double>(r.deliveries) / cpu : 0;
        double per_s = r.wall_s > 0 ? static_cast<double>(r.deliveries) / r.wall_s : 0;
        std::printf("{\"tool\":\"sluice-floor\",\"mode\":\"%s\",\"connections\":%u,"
                    "\"size\":%zu,\"event_bytes\":%zu,\"batch\":%u,\"rate\":%g,\"io\":\"%s\","
                    "\"wall_s\":%.3f,\"rounds\":%llu,\"deliveries\":%llu,\"skipped\":%llu,"
                    "\"writes\":%llu,\"syscalls\":%llu,\"bytes\":%llu,"
                    "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"cpu_s\":%.3f,"
                    "\"deliveries_per_cpu_s\":%.0f,\"deliveries_per_s\":%.0f,"
                    "\"reader_cpu_s\":%.3f,\"reader_bytes\":%llu}\n",
                    args.blast.mode == Mode::Broadcast ? "broadcast" : "sessions", count,
                    args.blast.size, r.event_bytes, args.blast.batch, args.blast.rate, io,
                    r.wall_s, static_cast<unsigned long long>(r.rounds),
                    static_cast<unsigned long long>(r.deliveries),
                    static_cast<unsigned long long>(r.skipped),
                    static_cast<unsigned long long>(r.writes),
                    static_cast<unsigned long long>(r.syscalls),
                    static_cast<unsigned long long>(r.bytes), r.cpu_user_s, r.cpu_sys_s, cpu,
                    per_cpu, per_s, reader.cpu_s, static_cast<unsigned long long>(reader.bytes));
        std::fflush(stdout);
        if (!args.json_only)
            std::fprintf(stderr,
                         "floor %s, %u connections, %zu-byte events, rate %g, %s: %.0f "
                         "deliveries per CPU-second (%.0f/s wall; writer %.2fs user + %.2fs "
                         "sys; reader %.2fs)\n",
                         args.blast.mode == Mode::Broadcast ? "broadcast" : "sessions", count,
                         r.event_bytes, args.blast.rate, io, per_cpu, per_s, r.cpu_user_s,
                         r.cpu_sys_s,
                         reader.cpu_s);
    }
    return status;
}
