// Process-wide logging. Error/info lines go to stderr as one JSON object per line;
// the access log (one line per request and per closed stream) goes where
// `access_log` in the config says. Both are safe to call from any worker thread.
#pragma once

#include <string>
#include <string_view>

namespace sluice::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_level(Level level);
bool enabled(Level level);

// msg is a short fixed phrase; fields is a preformatted JSON fragment such as
// R"("route":"/x","status":400)" (may be empty) appended to the object.
void write(Level level, std::string_view msg, std::string_view fields = {});

inline void debug(std::string_view m, std::string_view f = {}) { write(Level::Debug, m, f); }
inline void info(std::string_view m, std::string_view f = {}) { write(Level::Info, m, f); }
inline void warn(std::string_view m, std::string_view f = {}) { write(Level::Warn, m, f); }
inline void error(std::string_view m, std::string_view f = {}) { write(Level::Error, m, f); }

// Access log target: "stdout", "stderr", "off" or a file path (opened for append).
// Returns false (and keeps the previous target) if the file cannot be opened.
bool set_access_log(const std::string& target);
void access(std::string_view json_line);
// False when access_log is off: callers skip building the line at all.
bool access_enabled();

// JSON string escaping for building fields by hand.
std::string json_escape(std::string_view s);
// "key":"escaped value"
std::string field(std::string_view key, std::string_view value);
std::string field(std::string_view key, long long value);

}  // namespace sluice::log
