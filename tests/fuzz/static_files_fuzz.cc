// Fuzz target: the pure parts of static file serving (gateway/files/): the request path
// below a static route, and the Range / conditional headers.
//
// Input byte 0 picks the part:
//  0: files::clean_relative_path, differential against a reference built from the shared
//     percent decoder: decode, refuse NUL, split at '/', refuse "..", drop "" and ".".
//     Whatever it returns can never climb out of the root.
//  1: files::decide_range on a file of a chosen size: a partial answer lies inside the
//     file (first <= last < size).
//  2: dates and validators: a parsed IMF-fixdate formats to a date that parses to the same
//     second; If-None-Match / If-Range / If-Modified-Since never crash on any bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include "gateway/core/percent.h"
#include "gateway/files/file_lookup.h"
#include "gateway/files/http_meta.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice;

std::optional<std::string> reference_clean(std::string_view encoded) {
    auto decoded = percent_decode(encoded);
    if (!decoded || decoded->find('\0') != std::string::npos) return std::nullopt;
    std::string out;
    std::string_view rest = *decoded;
    while (true) {
        size_t slash = rest.find('/');
        std::string_view seg = rest.substr(0, slash);
        if (seg == "..") return std::nullopt;
        if (!seg.empty() && seg != ".") {
            if (!out.empty()) out += '/';
            out += seg;
        }
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    return out;
}

void check_path(std::string_view encoded) {
    auto got = files::clean_relative_path(encoded);
    FUZZ_CHECK(got == reference_clean(encoded));
    if (!got) return;
    FUZZ_CHECK(got->empty() || (got->front() != '/' && got->back() != '/'));
    FUZZ_CHECK(got->find("//") == std::string::npos);
    std::string_view rest = *got;
    while (!rest.empty()) {
        size_t slash = rest.find('/');
        std::string_view seg = rest.substr(0, slash);
        FUZZ_CHECK(seg != ".." && seg != ".");
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
}

void check_range(FuzzedDataProvider& in) {
    uint64_t size = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 100)
                                     : in.ConsumeIntegral<uint64_t>();
    std::string header = in.ConsumeRemainingBytesAsString();
    files::RangeDecision d = files::decide_range(header, size);
    if (d.kind == files::RangeDecision::Kind::Partial) {
        FUZZ_CHECK(size > 0);
        FUZZ_CHECK(d.range.first <= d.range.last && d.range.last < size);
        FUZZ_CHECK(d.range.length() >= 1 && d.range.length() <= size);
    }
}

void check_dates(FuzzedDataProvider& in) {
    int64_t mtime = in.ConsumeIntegral<int64_t>();
    std::string a = in.ConsumeRandomLengthString(64);
    std::string b = in.ConsumeRemainingBytesAsString();
    if (auto t = files::parse_http_date(a)) {
        auto again = files::parse_http_date(files::format_http_date(*t));
        FUZZ_CHECK(again && *again == *t);
    }
    const std::string etag = files::make_etag(mtime, 0, static_cast<uint64_t>(mtime));
    (void)files::format_http_date(mtime);
    (void)files::none_match_hits(a, etag);
    (void)files::if_range_matches(a, etag, mtime);
    (void)files::not_modified(&a, &b, etag, mtime);
    (void)files::not_modified(nullptr, &b, etag, mtime);
    FUZZ_CHECK(!files::content_type_for(b).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t part = data[0] % 3;
    FuzzedDataProvider in(data + 1, size - 1);
    if (part == 0) {
        check_path(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    } else if (part == 1) {
        check_range(in);
    } else {
        check_dates(in);
    }
    return 0;
}
