// sluice-bench: load generator for SSE gateways on loopback. Parses the command line, raises
// the open-files limit, runs one benchmark and prints its results. Exit status: 0 clean run,
// 1 the run finished with failures, 2 bad arguments.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/sluice_bench/options.h"
#include "bench/sluice_bench/report.h"
#include "bench/sluice_bench/runner.h"

namespace {

// Each connection is a file descriptor, so take everything the hard limit allows.
uint64_t raise_nofile_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rlimit raised = rl;
        raised.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(rl.rlim_cur);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sluice::bench;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    ParsedArgs parsed = parse_args(args);
    if (parsed.help) {
        std::fwrite(help_text().data(), 1, help_text().size(), stdout);
        return 0;
    }
    if (!parsed.options) {
        std::fprintf(stderr, "sluice-bench: %s\n(see sluice-bench --help)\n",
                     parsed.error.c_str());
        return 2;
    }
    const Options& opt = *parsed.options;
    std::signal(SIGPIPE, SIG_IGN);  // a peer closing mid-write is an error code, not a crash

    uint64_t nofile = raise_nofile_limit();
    uint64_t needed = uint64_t{opt.connections} + opt.publish_connections + 64;
    if (nofile < needed)
        std::fprintf(stderr,
                     "sluice-bench: warning: open-files limit %llu is below the %llu this run "
                     "needs; raise the hard limit (ulimit -Hn) or expect failed connections\n",
                     static_cast<unsigned long long>(nofile),
                     static_cast<unsigned long long>(needed));

    Report report;
    {
        Runner runner(opt, nofile);
        report = runner.run();
    }
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        report.cpu_user_s = static_cast<double>(ru.ru_utime.tv_sec) +
                            static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
        report.cpu_sys_s = static_cast<double>(ru.ru_stime.tv_sec) +
                           static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
    }
    std::string json = to_json_line(report);
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fflush(stdout);
    if (!opt.json_only) {
        std::string summary = to_summary(report);
        std::fwrite(summary.data(), 1, summary.size(), stderr);
    }
    return report_clean(report) ? 0 : 1;
}
