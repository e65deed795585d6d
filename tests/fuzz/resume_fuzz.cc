// Fuzz target: the resume decision (sse::decide_resume), for every window the history can
// report and every position a client can send (?position / Last-Event-ID are parsed into
// any uint64). Values are drawn with a bias to the edges (0, 1, 2^64-1 and their
// neighbours) where wrap-around hides.
//
// Invariants: a gap always has 1 <= from <= to; next is never below 1 and never beyond the
// channel's next position (head + 1); with no gap, a client at N gets exactly N + 1 next
// (no event skipped, none repeated); a "history lost" gap ends at N and a "window moved"
// gap covers exactly N + 1 .. next - 1; without a position the start mode decides; 204 only
// for a position at or past a terminal event.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>

#include <fuzzer/FuzzedDataProvider.h>

#include "gateway/sse/resume.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::sse;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

uint64_t edgy(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return in.ConsumeIntegralInRange<uint64_t>(0, 8);
    case 1: return kMax - in.ConsumeIntegralInRange<uint64_t>(0, 8);
    default: return in.ConsumeIntegral<uint64_t>();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    // A window as ChannelHistory reports it: oldest in 1..head+1 (head+1 when empty), and a
    // terminal event, if any, is the head. The head is at most 2^64-2: positions are capped
    // where they enter (broker::parse_envelope refuses 2^64-1; sluice's own counters start
    // at 1), so head + 1 exists. An earlier version of this target let the head be 2^64-1
    // and found next = 0 for start: latest; regressions/resume/ keeps that input.
    ChannelWindow w;
    w.head = std::min(edgy(in), kMax - 1);
    w.oldest = 1 + edgy(in) % (w.head + 1);
    if (w.head > 0 && in.ConsumeBool()) w.terminal = w.head;
    ResumeRequest req;
    if (in.ConsumeBool()) req.position = edgy(in);
    req.start = in.ConsumeBool() ? Start::Earliest : Start::Latest;

    ResumeDecision d = decide_resume(req, w);
    // Printed only when a check fails, next to the FUZZ_CHECK line.
    auto explain = [&]() {
        std::fprintf(stderr, "window head=%llu oldest=%llu terminal=%s; position=%s%llu %s\n",
                     static_cast<unsigned long long>(w.head),
                     static_cast<unsigned long long>(w.oldest), w.terminal ? "head" : "none",
                     req.position ? "" : "none/", static_cast<unsigned long long>(req.position.value_or(0)),
                     req.start == Start::Earliest ? "earliest" : "latest");
        return false;
    };
#define RESUME_CHECK(cond) FUZZ_CHECK((cond) || explain())

    if (d.action == ResumeDecision::Action::NoContent) {
        RESUME_CHECK(w.terminal && req.position && *req.position >= *w.terminal);
        return 0;
    }
    RESUME_CHECK(!(w.terminal && req.position && *req.position >= *w.terminal));
    RESUME_CHECK(d.next >= 1);
    RESUME_CHECK(d.next - 1 <= w.head);  // next <= head + 1, written without wrapping
    if (d.gap) {
        RESUME_CHECK(req.position.has_value());
        RESUME_CHECK(d.gap->from >= 1 && d.gap->from <= d.gap->to);
    }
    if (!req.position) {
        RESUME_CHECK(d.next == (req.start == Start::Earliest ? w.oldest : w.head + 1));
        return 0;
    }
    const uint64_t n = *req.position;
    if (!d.gap) {
        RESUME_CHECK(n < kMax && d.next == n + 1);
    } else if (n > w.head) {  // the channel started over: what the client counted is void,
        // and the channel's new history is replayed from its oldest held event
        RESUME_CHECK(d.gap->reset && d.gap->from == 1 && d.gap->to == n && d.next == w.oldest);
    } else {  // history moved past the client
        RESUME_CHECK(!d.gap->reset && d.gap->from == n + 1 && d.gap->to == d.next - 1 &&
                     d.next == w.oldest);
    }
    return 0;
}
