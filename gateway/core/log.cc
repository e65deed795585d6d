#include "gateway/core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "gateway/core/log_level.h"

namespace sluice::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::mutex g_access_mutex;
FILE* g_access = stdout;
bool g_access_owned = false;
std::string g_access_path; // the file's path when g_access_owned
std::atomic<bool> g_access_on{true};

} // namespace

std::string timestamp_now() {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto secs = time_point_cast<seconds>(now);
    auto ms = duration_cast<milliseconds>(now - secs).count();
    std::time_t t = system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

void set_level(Level level) { g_level.store(static_cast<int>(level)); }
bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view msg, Fields fields) {
    if (!enabled(level)) return;
    std::string line = json::JsonObject()
                           .add("ts", timestamp_now())
                           .add("level", level_name(level))
                           .add("msg", msg)
                           .add(fields)
                           .str();
    line += '\n';
    // One fwrite per line: stdio locks the stream, so lines from threads never interleave.
    std::fwrite(line.data(), 1, line.size(), stderr);
}

bool set_access_log(const std::string& target) {
    FILE* next = nullptr;
    bool owned = false;
    if (target == "stdout") next = stdout;
    else if (target == "stderr") next = stderr;
    else if (target == "off") next = nullptr;
    else {
        next = std::fopen(target.c_str(), "a");
        if (!next) return false;
        owned = true;
    }
    std::lock_guard<std::mutex> lock(g_access_mutex);
    if (g_access_owned && g_access) std::fclose(g_access);
    g_access = next;
    g_access_owned = owned;
    g_access_path = owned ? target : std::string();
    g_access_on.store(next != nullptr, std::memory_order_relaxed);
    return true;
}

bool reopen_access_log() {
    std::lock_guard<std::mutex> lock(g_access_mutex);
    if (!g_access_owned) return true;
    FILE* next = std::fopen(g_access_path.c_str(), "a");
    if (!next) return false;
    std::fclose(g_access);
    g_access = next;
    return true;
}

bool access_enabled() { return g_access_on.load(std::memory_order_relaxed); }

void access(std::string_view json_line) {
    std::lock_guard<std::mutex> lock(g_access_mutex);
    if (!g_access) return;
    std::fwrite(json_line.data(), 1, json_line.size(), g_access);
    std::fputc('\n', g_access);
    std::fflush(g_access);
}

}  // namespace sluice::log
