// Fuzz target: SSE event encoding (sse::encode_event) and its inverses used by polling
// (event_data_from_encoded, event_name_from_encoded).
//
// Round trip: the encoded bytes are read back by a small reference parser written from the
// WHATWG "interpret an event stream" steps (independent of sluice's own readers). It must
// dispatch exactly one event whose id is the position, whose type is the event name (CR and
// LF dropped, as encode_event documents) and whose data is the payload with every line
// break (LF, CRLF, CR) turned into LF: what a browser's EventSource would hand the page.
// Polling's readers must agree with it byte for byte.
//
// Input: 8 bytes of position, 1 byte of event-name length (mod 32), the name, the payload.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/sse/encode.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

struct RefEvent {
    std::string id;
    std::string type;
    std::string data;
};

// WHATWG HTML 9.2.6, for a byte stream already decoded (sluice writes UTF-8 as-is).
std::vector<RefEvent> reference_parse(std::string_view s) {
    std::vector<RefEvent> events;
    std::string data, type, id;
    bool has_data = false;
    size_t i = 0;
    while (i < s.size()) {
        size_t end = i;
        while (end < s.size() && s[end] != '\n' && s[end] != '\r') ++end;
        if (end == s.size()) break;  // an unterminated last line is never processed
        std::string_view line = s.substr(i, end - i);
        i = end + 1;
        if (s[end] == '\r' && i < s.size() && s[i] == '\n') ++i;
        if (line.empty()) {  // dispatch
            if (has_data) {
                if (!data.empty() && data.back() == '\n') data.pop_back();
                events.push_back(RefEvent{id, type, data});
            }
            data.clear();
            type.clear();
            has_data = false;
            continue;
        }
        if (line[0] == ':') continue;
        size_t colon = line.find(':');
        std::string_view field = line.substr(0, colon);
        std::string_view value;
        if (colon != std::string_view::npos) {
            value = line.substr(colon + 1);
            if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
        }
        if (field == "data") {
            data.append(value);
            data += '\n';
            has_data = true;
        } else if (field == "event") {
            type.assign(value);
        } else if (field == "id") {
            if (value.find('\0') == std::string_view::npos) id.assign(value);
        }
    }
    return events;
}

std::string normalize_line_breaks(std::string_view in) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r') {
            out += '\n';
            if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else {
            out += in[i];
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 9) return 0;
    uint64_t id = 0;
    std::memcpy(&id, data, 8);
    size_t name_len = data[8] % 32;
    if (name_len > size - 9) name_len = size - 9;
    std::string_view rest(reinterpret_cast<const char*>(data + 9), size - 9);
    std::string_view name = rest.substr(0, name_len);
    std::string_view payload = rest.substr(name_len);

    const std::string encoded = sluice::sse::encode_event(id, name, payload);

    std::string expected_name;
    for (char c : name)
        if (c != '\r' && c != '\n') expected_name += c;
    const std::string expected_data = normalize_line_breaks(payload);

    std::vector<RefEvent> events = reference_parse(encoded);
    FUZZ_CHECK(events.size() == 1);
    FUZZ_CHECK(events[0].id == std::to_string(id));
    FUZZ_CHECK(events[0].type == expected_name);
    FUZZ_CHECK(events[0].data == expected_data);
    // The whole event is one block: nothing after its blank line.
    FUZZ_CHECK(encoded.size() >= 2 && encoded.compare(encoded.size() - 2, 2, "\n\n") == 0);
    FUZZ_CHECK(encoded.find("\n\n") == encoded.size() - 2);

    FUZZ_CHECK(sluice::sse::event_data_from_encoded(encoded) == expected_data);
    FUZZ_CHECK(sluice::sse::event_name_from_encoded(encoded) == expected_name);
    return 0;
}
