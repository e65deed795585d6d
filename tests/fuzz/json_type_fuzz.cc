// Fuzz target: the one-pass JSON "type" scanner (sse::json_top_level_type), differential
// against a full parse with nlohmann/json, as the unit test does with random edits: for
// every payload both must agree on the top-level "type" string (or on its absence). The
// scanner rejects nesting deeper than 512 where nlohmann/json has no limit, so inputs
// with more than 512 brackets are only run, not compared. nlohmann/json's lexer also reads a
// NUL byte as the end of the input (it accepts '{"type":"x"}\0junk'); a raw NUL is never
// valid JSON (RFC 8259 allows it neither between tokens nor unescaped in a string), so
// for those the reference answer is "no type".
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/sse/json_type.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::optional<std::string> reference(const std::string& payload) {
    if (payload.find('\0') != std::string::npos) return std::nullopt;
    auto doc = nlohmann::json::parse(payload, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
    auto it = doc.find("type");
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string payload(reinterpret_cast<const char*>(data), size);
    std::optional<std::string> got = sluice::sse::json_top_level_type(payload);
    size_t brackets = 0;
    for (char c : payload) brackets += (c == '[' || c == '{');
    if (brackets > 512) return 0;
    FUZZ_CHECK(got == reference(payload));
    return 0;
}
