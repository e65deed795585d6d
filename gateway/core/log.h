// Process-wide logging. Error/info lines go to stderr as one JSON object per line;
// the access log (one line per request and per closed stream, app/access_log) goes where
// `access_log` in the config says. Both are safe to call from any worker thread.
//
// A call site names a short fixed phrase and typed fields:
//     log::warn("proxy route names no upstream", {{"upstream", name}});
// The line is built by json::JsonObject, so it is valid UTF-8 JSON whatever the values hold.
#pragma once

#include <string>
#include <string_view>

#include "gateway/core/json_object.h"

namespace sluice::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_level(Level level);
bool enabled(Level level);

using json::Field;
using json::Fields;

// {"ts":"...","level":"...","msg":msg, fields...}
void write(Level level, std::string_view msg, Fields fields = {});

inline void debug(std::string_view m, Fields f = {}) {
    write(Level::Debug, m, f);
}
inline void info(std::string_view m, Fields f = {}) {
    write(Level::Info, m, f);
}
inline void warn(std::string_view m, Fields f = {}) {
    write(Level::Warn, m, f);
}
inline void error(std::string_view m, Fields f = {}) {
    write(Level::Error, m, f);
}

// Access log target: "stdout", "stderr", "off" or a file path (opened for append).
// Returns false (and keeps the previous target) if the file cannot be opened.
bool set_access_log(const std::string& target);
// Opens the access log file again by its path (log rotation: SIGUSR1 after the file was
// renamed). False, with the old file kept, if it cannot be opened; true when the target
// is not a file.
bool reopen_access_log();
// One complete line (without the newline), already rendered as JSON.
void access(std::string_view json_line);
// False when access_log is off: callers skip building the line at all.
bool access_enabled();

// RFC 3339 UTC with milliseconds, e.g. 2026-05-01T12:00:00.123Z (the `ts` of every line).
std::string timestamp_now();

}  // namespace sluice::log
