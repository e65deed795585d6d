// Fuzz target: path and channel templates (gateway/router/path_template.*), the
// load-time checks of the same templates (gateway/config/templates.*) and their Redis
// patterns (gateway/broker/redis_glob.*).
//
// Checked: the config check and the router agree (a template the config accepts compiles,
// with the same capture names, and the other way round); a match captures one value per name, each a non-empty
// decoded segment; a channel expanded from captures fits its template and is matched by
// the template's Redis PSUBSCRIBE pattern (else events published before a client connects
// would not be kept); every expanded placeholder value is a valid channel value.
//
// Input: a path template, a request path, a channel template and capture values, as
// strings taken one after another from the bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "gateway/broker/redis_glob.h"
#include "gateway/config/templates.h"
#include "gateway/router/path_template.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice;

// Redis glob matching for the subset redis_glob() writes: '*', and backslash escapes.
// Greedy with one backtrack point (the last '*'), so O(pattern x channel) at worst.
bool glob_match(std::string_view pat, std::string_view s) {
    std::vector<int> tokens;  // -1 = '*', else a literal byte
    for (size_t i = 0; i < pat.size(); ++i) {
        if (pat[i] == '*') {
            tokens.push_back(-1);
        } else {
            if (pat[i] == '\\' && i + 1 < pat.size()) ++i;
            tokens.push_back(static_cast<unsigned char>(pat[i]));
        }
    }
    size_t t = 0, c = 0, star = SIZE_MAX, star_c = 0;
    while (c < s.size()) {
        if (t < tokens.size() && tokens[t] == -1) {
            star = t++;
            star_c = c;
        } else if (t < tokens.size() && tokens[t] == static_cast<unsigned char>(s[c])) {
            ++t;
            ++c;
        } else if (star != SIZE_MAX) {
            t = star + 1;
            c = ++star_c;
        } else {
            return false;
        }
    }
    while (t < tokens.size() && tokens[t] == -1) ++t;
    return t == tokens.size();
}

void check_path_template(const std::string& text, const std::string& path) {
    std::vector<std::string> names;
    const bool config_ok = config::check_path_template(text, names).empty();
    std::string error;
    auto tpl = router::PathTemplate::parse(text, &error);
    FUZZ_CHECK(config_ok == tpl.has_value());
    if (config_ok) FUZZ_CHECK(tpl->capture_names() == names);
    if (!tpl) return;
    router::Captures caps;
    if (!tpl->match(path, caps)) return;
    FUZZ_CHECK(caps.size() == tpl->capture_names().size());
    for (size_t i = 0; i < caps.size(); ++i) {
        FUZZ_CHECK(caps[i].first == tpl->capture_names()[i]);
        FUZZ_CHECK(!caps[i].second.empty());
    }
}

void check_channel_template(const std::string& text, FuzzedDataProvider& in) {
    std::vector<std::string> names;
    const bool config_ok = config::check_channel_template(text, names).empty();
    std::string error;
    auto tpl = router::ChannelTemplate::parse(text, &error);
    FUZZ_CHECK(config_ok == tpl.has_value());
    if (config_ok) FUZZ_CHECK(tpl->placeholder_names() == names);
    if (!tpl) return;
    router::Captures caps;
    for (const auto& name : tpl->placeholder_names()) {
        caps.emplace_back(name, in.ConsumeRandomLengthString(140));
    }
    router::ChannelTemplate::ExpandError err = router::ChannelTemplate::ExpandError::None;
    auto channel = tpl->expand(caps, &err);
    if (!channel) {
        FUZZ_CHECK(err != router::ChannelTemplate::ExpandError::None);
        return;
    }
    for (const auto& c : caps) FUZZ_CHECK(router::valid_channel_value(c.second));
    FUZZ_CHECK(tpl->fits(*channel));
    const std::string pattern = broker::redis_glob(*tpl);
    FUZZ_CHECK(glob_match(pattern, *channel));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    std::string path_template = in.ConsumeRandomLengthString(200);
    std::string path = in.ConsumeRandomLengthString(400);
    std::string channel_template = in.ConsumeRandomLengthString(200);
    check_path_template(path_template, path);
    check_channel_template(channel_template, in);
    return 0;
}
