// Fuzz target: http::ResponseParser, the proxy's reading of upstream responses (status
// line, headers, framing by length / chunks / close, 1xx, HEAD answers, keep-alive).
//
// Input: byte 0 picks the mode (bit 0: answers to HEAD requests, bit 1: a small head
// limit), byte 1 seeds how the rest is cut into pieces; the rest is what the upstream
// sends, followed by a close (end_of_input()). As for requests, parsing in one piece and in
// pieces must give the same responses. Also checked: `consumed` stays inside the input,
// NeedMore consumes everything, Body points into the input and only follows a head that
// announced a body, and a complete Content-Length body has exactly that many bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/http/response_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sluice::http::BodyFraming;
using sluice::http::ResponseParser;
using sluice::http::ResponseParseResult;

struct Outcome {
    std::vector<std::string> responses;  // each complete response, flattened
    bool error = false;
    int finish_kind = -1;  // what end_of_input() said at the close
};

std::string flatten(const ResponseParser& p, const std::string& body) {
    const auto& h = p.head();
    std::string s = std::to_string(h.status) + ' ' + std::to_string(h.version_major) + '.' +
                    std::to_string(h.version_minor) + ' ' + h.reason + ' ' +
                    std::to_string(static_cast<int>(h.framing)) + ' ' +
                    std::to_string(h.content_length) + (h.keep_alive ? " ka\n" : " close\n");
    for (const auto& hd : h.headers) s += hd.name + ": " + hd.value + '\n';
    return s + '\n' + body;
}

std::vector<size_t> piece_sizes(size_t size, uint8_t seed) {
    std::vector<size_t> out;
    if (seed == 0) {
        out.push_back(size);
        return out;
    }
    uint32_t x = seed;
    for (size_t done = 0; done < size;) {
        x = x * 1103515245u + 12345u;
        size_t n = 1 + (x >> 16) % 64;
        if (n > size - done) n = size - done;
        out.push_back(n);
        done += n;
    }
    return out;
}

Outcome run(bool head_requests, uint64_t max_head, const char* data, size_t size,
            uint8_t seed) {
    using K = ResponseParseResult::Kind;
    Outcome out;
    ResponseParser p(max_head);
    p.set_no_body(head_requests);
    std::string body;
    bool have_head = false;
    size_t steps = 0;
    const size_t max_steps = 8 * size + 64;
    size_t at = 0;
    auto completed = [&]() {
        FUZZ_CHECK(have_head);
        const auto& h = p.head();
        if (h.framing == BodyFraming::Length) FUZZ_CHECK(body.size() == h.content_length);
        if (h.framing == BodyFraming::None) FUZZ_CHECK(body.empty());
        out.responses.push_back(flatten(p, body));
        body.clear();
        have_head = false;
    };
    for (size_t piece : piece_sizes(size, seed)) {
        const char* in = data + at;
        size_t off = 0;
        while (true) {
            FUZZ_CHECK(++steps < max_steps);
            ResponseParseResult r = p.feed(in + off, piece - off);
            FUZZ_CHECK(r.consumed <= piece - off);
            off += r.consumed;
            if (r.kind == K::NeedMore) {
                FUZZ_CHECK(off == piece);
                break;
            }
            if (r.kind == K::Error) {
                FUZZ_CHECK(!r.reason.empty());
                out.error = true;
                return out;
            }
            if (r.kind == K::Head) {
                FUZZ_CHECK(!have_head);
                have_head = true;
                continue;
            }
            if (r.kind == K::Body) {
                FUZZ_CHECK(have_head && p.head().framing != BodyFraming::None);
                FUZZ_CHECK(!r.body.empty());
                FUZZ_CHECK(r.body.data() >= data && r.body.data() + r.body.size() <= data + size);
                body.append(r.body);
                continue;
            }
            completed();
        }
        at += piece;
    }
    ResponseParseResult end = p.end_of_input();
    out.finish_kind = static_cast<int>(end.kind);
    if (end.kind == K::Complete) completed();  // a body that ran until the close
    if (end.kind == K::Error) FUZZ_CHECK(!end.reason.empty());
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const bool head_requests = data[0] & 1;
    const uint64_t max_head = (data[0] & 2) ? 128 : 64 * 1024;
    const uint8_t seed = data[1];
    const char* bytes = reinterpret_cast<const char*>(data + 2);
    const size_t n = size - 2;

    Outcome whole = run(head_requests, max_head, bytes, n, 0);
    Outcome pieces = run(head_requests, max_head, bytes, n, seed == 0 ? 1 : seed);
    FUZZ_CHECK(whole.responses == pieces.responses);
    FUZZ_CHECK(whole.error == pieces.error);
    FUZZ_CHECK(whole.finish_kind == pieces.finish_kind);
    return 0;
}
