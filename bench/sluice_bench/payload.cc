#include "bench/sluice_bench/payload.h"

#include <charconv>
#include <random>

namespace sluice::bench {
namespace {

constexpr std::string_view kPadOpen = ",\"pad\":\"";
constexpr std::size_t kPadOverhead = kPadOpen.size() + 1;  // ,"pad":"  plus the closing quote

template <class T>
void append_number(std::string& out, T value) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, res.ptr);
}

// The digits right after `key` (which includes the colon), or nullopt.
template <class T>
std::optional<T> number_after(std::string_view text, std::string_view key) {
    std::size_t at = text.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    const char* begin = text.data() + at + key.size();
    const char* end = text.data() + text.size();
    T value{};
    auto res = std::from_chars(begin, end, value);
    if (res.ec != std::errc() || res.ptr == begin) return std::nullopt;
    return value;
}

}  // namespace

void append_payload(std::string& out, std::string_view run, uint32_t ch, uint64_t seq,
                    int64_t ts_ns, std::size_t size) {
    std::size_t start = out.size();
    out.append("{\"type\":\"bench\",\"run\":\"");
    out.append(run);
    out.append("\",\"ch\":");
    append_number(out, ch);
    out.append(",\"seq\":");
    append_number(out, seq);
    out.append(",\"ts\":");
    append_number(out, ts_ns);
    std::size_t natural = out.size() - start + 1;  // + the closing brace
    if (size > natural) {
        std::size_t missing = size - natural;
        if (missing >= kPadOverhead) {
            out.append(kPadOpen);
            out.append(missing - kPadOverhead, 'x');
            out.push_back('"');
        } else {
            out.append(missing, ' ');  // JSON allows whitespace before the brace
        }
    }
    out.push_back('}');
}

std::string make_payload(std::string_view run, uint32_t ch, uint64_t seq, int64_t ts_ns,
                         std::size_t size) {
    std::string out;
    out.reserve(size > 96 ? size : 96);
    append_payload(out, run, ch, seq, ts_ns, size);
    return out;
}

std::optional<PayloadFields> parse_payload(std::string_view text) {
    if (text.find("\"type\":\"bench\"") == std::string_view::npos) return std::nullopt;
    constexpr std::string_view kRun = "\"run\":\"";
    std::size_t r = text.find(kRun);
    if (r == std::string_view::npos) return std::nullopt;
    std::size_t run_begin = r + kRun.size();
    std::size_t run_end = text.find('"', run_begin);
    if (run_end == std::string_view::npos) return std::nullopt;
    auto ch = number_after<uint32_t>(text, "\"ch\":");
    auto seq = number_after<uint64_t>(text, "\"seq\":");
    auto ts = number_after<int64_t>(text, "\"ts\":");
    if (!ch || !seq || !ts) return std::nullopt;
    return PayloadFields{text.substr(run_begin, run_end - run_begin), *ch, *seq, *ts};
}

std::string new_run_id() {
    std::random_device rd;
    uint32_t v = rd();
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(8, '0');
    for (int i = 7; i >= 0; --i, v >>= 4) id[static_cast<std::size_t>(i)] = kHex[v & 0xf];
    return id;
}

}  // namespace sluice::bench
