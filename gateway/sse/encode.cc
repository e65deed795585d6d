// SSE framing. encode_event runs once per published event (the bytes are then shared by
// every subscriber), so it sizes the output exactly and writes it in one allocation.
#include "gateway/sse/encode.h"

#include "gateway/core/json_object.h"
#include "gateway/sse/json_type.h"


namespace sluice::sse {

namespace {

constexpr std::string_view kDataPrefix = "data: ";

// Calls on_line(line) for each payload line; LF, CRLF and CR each end a line, and the
// text after the last break (possibly empty) is the final line.
template <class F> void for_each_line(std::string_view text, F&& on_line) {
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '\n' && c != '\r') continue;
        on_line(text.substr(start, i - start));
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        start = i + 1;
    }
    on_line(text.substr(start));
}

size_t decimal_digits(uint64_t v) {
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        ++n;
    }
    return n;
}

}  // namespace

std::string encode_event(uint64_t id, std::string_view event, std::string_view payload) {
    size_t event_chars = 0;
    for (char c : event)
        if (c != '\r' && c != '\n') ++event_chars;

    size_t lines = 0;
    size_t line_bytes = 0;
    for_each_line(payload, [&](std::string_view line) {
        ++lines;
        line_bytes += line.size();
    });

    size_t total = 4 + decimal_digits(id) + 1;          // "id: N\n"
    if (event_chars) total += 7 + event_chars + 1;       // "event: NAME\n"
    total += lines * (kDataPrefix.size() + 1) + line_bytes;  // "data: LINE\n" each
    total += 1;                                          // blank line ends the event

    std::string out;
    out.reserve(total);
    out += "id: ";
    out += std::to_string(id);
    out += '\n';
    if (event_chars) {
        out += "event: ";
        for (char c : event)
            if (c != '\r' && c != '\n') out += c;
        out += '\n';
    }
    for_each_line(payload, [&](std::string_view line) {
        out += kDataPrefix;
        out += line;
        out += '\n';
    });
    out += '\n';
    return out;
}

std::string encode_gap(uint64_t from, uint64_t to, bool reset) {
    json::JsonObject data;
    data.add({{"from", from}, {"to", to}});
    if (reset) data.add("reset", true);
    return "event: gap\ndata: " + data.str() + "\n\n";
}

std::string encode_heartbeat_comment() { return ": heartbeat\n\n"; }

std::string encode_heartbeat_data() { return "data: {\"type\":\"heartbeat\"}\n\n"; }

std::string encode_retry(uint64_t ms) { return "retry: " + std::to_string(ms) + "\n\n"; }

std::string event_data_from_encoded(std::string_view encoded) {
    // The WHATWG "interpret an event stream" steps, restricted to the data field, for the
    // first event that has data. Bytes after it are ignored. Unlike a browser, a final
    // event without its terminating blank line is still returned (callers pass whole events).
    std::string data;
    bool has_data = false;
    bool done = false;
    for_each_line(encoded, [&](std::string_view line) {
        if (done) return;
        if (line.empty()) {
            done = has_data;  // a blank line before any data dispatches nothing
            return;
        }
        if (line[0] == ':') return;  // comment
        size_t colon = line.find(':');
        std::string_view field = line.substr(0, colon);
        std::string_view value;
        if (colon != std::string_view::npos) {
            value = line.substr(colon + 1);
            if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
        }
        if (field != "data") return;
        if (has_data) data += '\n';
        data += value;
        has_data = true;
    });
    return data;
}

std::string event_name_from_encoded(std::string_view encoded) {
    // Events sluice encodes carry at most one "event:" line, before the data lines.
    std::string name;
    bool done = false;
    for_each_line(encoded, [&](std::string_view line) {
        if (done) return;
        if (line.empty() || line.rfind("data:", 0) == 0) {
            done = true;
            return;
        }
        if (line.rfind("event:", 0) == 0) {
            std::string_view v = line.substr(6);
            if (!v.empty() && v[0] == ' ') v.remove_prefix(1);
            name.assign(v);
            done = true;
        }
    });
    return name;
}

std::optional<std::string> payload_type(std::string_view payload) {
    return json_top_level_type(payload);
}

history::StoredEventPtr make_stored_event(uint64_t position, std::string_view event,
                                          std::string_view payload) {
    auto ev = std::make_shared<history::StoredEvent>();
    ev->position = position;
    ev->encoded = make_shared_bytes(encode_event(position, event, payload));
    ev->type = payload_type(payload).value_or(std::string());
    ev->at = history::Clock::now();
    return ev;
}

}  // namespace sluice::sse
