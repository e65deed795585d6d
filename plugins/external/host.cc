#include "plugins/external/host.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "gateway/admin/plugin_counters.h"
#include "gateway/core/ascii.h"
#include "gateway/core/log.h"
#include "gateway/core/utf8.h"
#include "gateway/http/ascii.h"
#include "plugins/external/instance.h"

namespace sluice::plugins::external {
namespace {

// Host callbacks are called from C: nothing may throw out of them.
template <typename F>
void guarded(F f) noexcept {
    try {
        f();
    } catch (...) {
    }
}

constexpr size_t kMaxLogMessage = 4096;

bool is_field_value(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char ch) {
        unsigned char c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t') || c == 0x7f;
    });
}

bool is_framing_header(std::string_view name) {
    for (const char* p : {"Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
                          "Upgrade", "TE", "Trailer", "Content-Type"})
        if (ascii_iequals(name, p)) return true;
    return false;
}

bool is_counter_name(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || ascii_is_digit(c) || c == '_';
    });
}

void host_log(const sluice_host* host, sluice_log_level level, const char* message) {
    guarded([&] {
        if (!host || !message) return;
        log::Level l = level <= SLUICE_LOG_DEBUG ? log::Level::Debug
                       : level == SLUICE_LOG_INFO ? log::Level::Info
                       : level == SLUICE_LOG_WARN ? log::Level::Warn
                                                  : log::Level::Error;
        if (!log::enabled(l)) return;
        std::string_view text(message, strnlen(message, kMaxLogMessage));
        log::write(l, text, {{"plugin", Instance::of(host).name()}});
    });
}

void host_count(const sluice_host* host, const char* name, uint64_t n) {
    guarded([&] {
        if (!host || !name) return;
        const Instance& inst = Instance::of(host);
        std::string counter(name, strnlen(name, 65));
        bool ok = is_counter_name(counter) && admin::plugin_counters().add(inst.name(), counter, n);
        if (!ok && !inst.warned_counters.exchange(true))
            log::warn("plugin counter dropped (names are [a-z0-9_]{1,64}, at most 1000 series)",
                      {{"plugin", inst.name()}, {"counter", counter}});
    });
}

int host_header(const sluice_request* req, const char* name, sluice_str* value) {
    int found = 0;
    guarded([&] {
        if (!req || !req->host_private || !name || !value) return;
        // The filter points host_private at the request's headers (or its copy of them).
        const auto* headers = static_cast<const std::vector<http::Header>*>(req->host_private);
        for (const http::Header& h : *headers) {
            if (ascii_iequals(h.name, name)) {
                *value = sluice_str{h.value.data(), h.value.size()};
                found = 1;
                return;
            }
        }
    });
    return found;
}

void host_answer(sluice_answer* a, int status, const char* content_type, const char* body,
                 size_t body_len) {
    guarded([&] {
        if (!a) return;
        a->set = true;
        a->error = false;
        a->status = status;
        a->content_type = content_type && *content_type ? content_type : "text/plain; charset=utf-8";
        a->body.assign(body ? body : "", body ? body_len : 0);
        if (!is_field_value(a->content_type)) a->invalid = "a control character in its content type";
    });
}

void host_answer_error(sluice_answer* a, int status, const char* reason) {
    guarded([&] {
        if (!a) return;
        a->set = true;
        a->error = true;
        a->status = status;
        a->reason = reason ? reason : "";
        if (!valid_utf8(a->reason)) a->invalid = "a reason that is not UTF-8";
    });
}

void host_answer_header(sluice_answer* a, const char* name, const char* value) {
    guarded([&] {
        if (!a || !name || !value) return;
        std::string n = name, v = value;
        if (!http::is_token(n))
            a->invalid = "'" + n + "' is not a header name";
        else if (is_framing_header(n))
            a->invalid = "'" + n + "' is set by sluice itself";
        else if (!is_field_value(v))
            a->invalid = "a control character in header '" + n + "'";
        else
            a->headers.emplace_back(std::move(n), std::move(v));
    });
}

void host_rewrite(sluice_rewrite* r, const char* data, size_t len) {
    guarded([&] {
        if (!r) return;
        r->set = true;
        r->data.assign(data ? data : "", data ? len : 0);
        if (r->data.find('\0') != std::string::npos || !valid_utf8(r->data))
            r->invalid = "data that is not UTF-8 text (or holds NUL)";
    });
}

sluice_pending* host_suspend(sluice_answer* a) {
    sluice_pending* p = nullptr;
    guarded([&] {
        if (!a || !a->suspend || a->pending) return;
        p = a->pending = a->suspend();
    });
    return p;
}

// The decision is checked here, on the plugin's thread, and applied on the request's loop.
void host_resume(sluice_pending* raw, int result, int status, const char* reason) noexcept {
    if (!raw) return;
    std::shared_ptr<sluice_pending> p(raw);  // freed by whichever thread drops it last
    std::string why = result == SLUICE_PASS ? "" : reason ? reason : "";
    std::string invalid;
    if (result != SLUICE_PASS && result != SLUICE_ANSWER)
        invalid = "resumed with result " + std::to_string(result);
    else if (result == SLUICE_ANSWER && (status < 200 || status > 599))
        invalid = "resumed with status " + std::to_string(status) + " (200..599)";
    else if (!valid_utf8(why))
        invalid = "resumed with a reason that is not UTF-8";
    guarded([&] {
        p->loop.post([p, result, status, why = std::move(why), invalid = std::move(invalid)] {
            if (!p->suspended.load() || !p->alive) return;  // the client left, or no wait
            if (!invalid.empty()) {
                log::error("plugin broke the plugin ABI rules", {{"plugin", p->plugin}, {"reason", invalid}});
                p->req->respond_error(500, "plugin " + p->plugin + " failed");
            } else if (result == SLUICE_PASS) {
                p->resume();
            } else {
                p->req->respond_error(status, why);
            }
        });
    });
}

}  // namespace

void fill_host_callbacks(sluice_host& host) {
    host.abi_version = SLUICE_PLUGIN_ABI_VERSION;
    host.log = host_log;
    host.count = host_count;
    host.header = host_header;
    host.answer = host_answer;
    host.answer_error = host_answer_error;
    host.answer_header = host_answer_header;
    host.rewrite = host_rewrite;
    host.suspend = host_suspend;
    host.resume = host_resume;
}

}  // namespace sluice::plugins::external
