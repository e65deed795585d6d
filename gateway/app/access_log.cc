#include "gateway/app/access_log.h"

#include <array>

#include "gateway/core/json_object.h"
#include "gateway/core/log.h"
#include "gateway/core/percent.h"
#include "gateway/core/secret_params.h"
#include "gateway/http/ascii.h"

namespace sluice::app::access_log {

namespace {

// Query parameters whose values are credentials often enough (tokens passed in the URL
// because EventSource cannot send headers) that they never reach a log file; plus the
// names the jwt and api_key plugins are configured to read (core/secret_params.h).
constexpr std::array<std::string_view, 8> kSecretParams = {
    "token", "access_token", "jwt", "auth", "key", "api_key", "password", "secret"};

bool is_secret_param(std::string_view raw_name) {
    std::optional<std::string> decoded = percent_decode(raw_name);
    std::string_view name = decoded ? std::string_view(*decoded) : raw_name;
    for (std::string_view s : kSecretParams)
        if (http::iequals(name, s)) return true;
    return secret_params::contains(name);  // the names plugins read tokens and keys from
}

int64_t whole_ms(double seconds) {
    return static_cast<int64_t>(seconds * 1000);
}

} // namespace

std::string redact_query(std::string_view query) {
    std::string out;
    out.reserve(query.size());
    size_t start = 0;
    while (start <= query.size()) {
        size_t end = query.find('&', start);
        if (end == std::string_view::npos) end = query.size();
        std::string_view param = query.substr(start, end - start);
        size_t eq = param.find('=');
        if (eq != std::string_view::npos && is_secret_param(param.substr(0, eq))) {
            out.append(param.substr(0, eq + 1));
            out += "REDACTED";
        } else {
            out.append(param);
        }
        if (end == query.size()) break;
        out += '&';
        start = end + 1;
    }
    return out;
}

std::string render(const RequestLogRecord& r, std::string_view ts) {
    json::JsonObject line;
    line.add({{"ts", ts},
              {"type", "request"},
              {"request_id", r.request_id},
              {"method", r.method},
              {"path", r.path}});
    if (!r.query.empty()) line.add("query", redact_query(r.query));
    line.add({{"route", r.route},
              {"status", r.status},
              {"bytes", r.bytes},
              {"duration_ms", whole_ms(r.seconds)},
              {"remote", r.remote}});
    if (!r.upstream.empty()) line.add("upstream", r.upstream);
    if (!r.user_agent.empty()) line.add("user_agent", r.user_agent);
    return line.str();
}

std::string render(const StreamLogRecord& r, std::string_view ts) {
    json::JsonObject line;
    line.add({{"ts", ts},
              {"type", "stream"},
              {"request_id", r.request_id},
              {"route", r.route},
              {"channel", r.channel},
              {"status", 200},
              {"events", r.events},
              {"bytes", r.bytes},
              {"duration_ms", whole_ms(r.seconds)},
              {"reason", r.reason},
              {"remote", r.remote}});
    if (!r.user_agent.empty()) line.add("user_agent", r.user_agent);
    return line.str();
}

bool enabled() {
    return log::access_enabled();
}

void write(const RequestLogRecord& r) {
    log::access(render(r, log::timestamp_now()));
}

void write(const StreamLogRecord& r) {
    log::access(render(r, log::timestamp_now()));
}

} // namespace sluice::app::access_log
