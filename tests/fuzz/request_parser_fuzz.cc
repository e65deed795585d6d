// Fuzz target: http::RequestParser (request head, chunked and sized bodies, pipelining,
// limits), the bytes every client sends.
//
// Input: byte 0 picks the mode (bit 0 report-head, bit 1 stream the bodies of even-numbered
// messages, bit 2 small limits), byte 1 seeds how the rest is cut into pieces; the rest is
// the bytes from the client. The same bytes are parsed twice, in one piece and in pieces,
// and both runs must see the same messages and both must fail or neither: how TCP happens
// to split a request must never change how it is read. (The status of a failure may differ
// for a request that is wrong twice over: a URL over max_url_length that also holds a
// forbidden byte is 414 when the URL arrives in pieces, since llhttp reports the URL's
// first piece before it reaches the bad byte, and 400 when it arrives at once.) Also checked: every result's
// `consumed` stays inside its input, NeedMore consumes everything, Body points into the
// input, limits hold, and an error status is one the parser documents.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/http/request_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sluice::http::ParseResult;
using sluice::http::ParserLimits;
using sluice::http::RequestParser;

struct Mode {
    bool report_head = false;
    bool stream_even = false;
    ParserLimits limits;
};

struct Outcome {
    std::vector<std::string> messages;  // each complete message, flattened
    int error_status = 0;               // 0: no error
};

std::string flatten(const RequestParser& p, const std::string& body) {
    const auto& h = p.head();
    std::string s = h.method + ' ' + h.target + ' ' + std::to_string(h.version_major) + '.' +
                    std::to_string(h.version_minor) + (h.keep_alive ? " ka\n" : " close\n");
    for (const auto& hd : h.headers) s += hd.name + ": " + hd.value + '\n';
    return s + '\n' + body;
}

bool documented_status(int s) {
    return s == 400 || s == 413 || s == 414 || s == 431 || s == 501 || s == 505 || s == 500;
}

// Cuts [0, size) into pieces: one piece when seed is 0, else sizes 1..64 from a small LCG.
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

Outcome run(const Mode& mode, const char* data, size_t size, uint8_t seed) {
    Outcome out;
    RequestParser p(mode.limits);
    p.set_report_head(mode.report_head);
    std::string streamed;  // body pieces of the current streamed message
    bool streaming = false;
    size_t steps = 0;
    const size_t max_steps = 8 * size + 64;  // every step consumes or reports something
    size_t at = 0;
    for (size_t piece : piece_sizes(size, seed)) {
        const char* in = data + at;
        size_t off = 0;
        while (true) {
            FUZZ_CHECK(++steps < max_steps);
            ParseResult r = p.feed(in + off, piece - off);
            FUZZ_CHECK(r.consumed <= piece - off);
            off += r.consumed;
            using K = ParseResult::Kind;
            if (r.kind == K::NeedMore) {
                FUZZ_CHECK(off == piece);
                break;
            }
            if (r.kind == K::Error) {
                FUZZ_CHECK(documented_status(r.status));
                FUZZ_CHECK(!r.reason.empty());
                out.error_status = r.status;
                return out;
            }
            if (r.kind == K::Head) {
                FUZZ_CHECK(mode.report_head && p.head_complete());
                FUZZ_CHECK(p.head().target.size() <= mode.limits.max_url_length);
                streaming = mode.stream_even && out.messages.size() % 2 == 0;
                if (streaming) p.stream_body();
                continue;  // feed again, even with nothing left in this piece
            }
            if (r.kind == K::Body) {
                FUZZ_CHECK(streaming);
                FUZZ_CHECK(r.body.data() >= data && r.body.data() + r.body.size() <= data + size);
                streamed.append(r.body);
                continue;
            }
            // Complete
            FUZZ_CHECK(p.message_complete());
            const std::string& body = streaming ? streamed : p.body();
            if (!streaming) FUZZ_CHECK(body.size() <= mode.limits.max_body_size);
            if (!p.expects_body()) FUZZ_CHECK(body.empty());
            out.messages.push_back(flatten(p, body));
            streamed.clear();
            streaming = false;
        }
        at += piece;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    Mode mode;
    mode.report_head = data[0] & 1;
    mode.stream_even = (data[0] & 2) && mode.report_head;
    if (data[0] & 4) mode.limits = ParserLimits{64, 24, 16};  // reach every limit quickly
    const uint8_t seed = data[1];
    const char* http = reinterpret_cast<const char*>(data + 2);
    const size_t n = size - 2;

    Outcome whole = run(mode, http, n, 0);
    Outcome pieces = run(mode, http, n, seed == 0 ? 1 : seed);
    FUZZ_CHECK(whole.messages == pieces.messages);
    FUZZ_CHECK((whole.error_status == 0) == (pieces.error_status == 0));
    return 0;
}
