// Fuzz target: the YAML config loader, from a buffer (config::load_config_string).
//
// Loading must never throw or crash, whatever the text: yaml-cpp's exceptions are caught
// inside config loading and every problem comes back as a ConfigError. Checked: exactly one
// of config / errors is set; every error names the file, has a 1-based position inside the
// text (or 0:0 when it has none), is sorted into file order and prints as one line (what
// --check shows). A config that loads is one the rest of the gateway can use: its route
// table builds, every route has one path or prefix and the options of its kind, every
// proxy route names a known upstream.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/config/config.h"
#include "gateway/router/route_table.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice;

void check_errors(const std::string& text, const config::LoadResult& r) {
    int max_line = 2;  // yaml-cpp may point one line past the last line break
    for (char c : text) max_line += (c == '\n' || c == '\r');
    int prev_line = 0, prev_col = 0;
    for (const auto& e : r.errors) {
        FUZZ_CHECK(e.file == "<fuzz>");
        FUZZ_CHECK(!e.message.empty());
        FUZZ_CHECK(e.line >= 0 && e.line <= max_line);
        FUZZ_CHECK(e.column >= 0);
        FUZZ_CHECK((e.line == 0) == (e.column == 0));
        FUZZ_CHECK(e.line > prev_line || (e.line == prev_line && e.column >= prev_col));
        prev_line = e.line;
        prev_col = e.column;
        std::string printed = e.to_string();
        FUZZ_CHECK(printed.find('\n') == std::string::npos);
        FUZZ_CHECK(printed.find('\r') == std::string::npos);
    }
}

void check_config(const config::Config& c) {
    FUZZ_CHECK(!c.listen.empty());
    FUZZ_CHECK(c.workers >= 1);
    for (const auto& route : c.routes) {
        FUZZ_CHECK(route.path.empty() != route.prefix.empty());
        switch (route.kind) {
        case router::RouteKind::Sse: FUZZ_CHECK(route.sse.has_value()); break;
        case router::RouteKind::Poll: FUZZ_CHECK(route.poll.has_value()); break;
        case router::RouteKind::Static: FUZZ_CHECK(route.static_files.has_value()); break;
        case router::RouteKind::Proxy:
            FUZZ_CHECK(route.proxy.has_value());
            FUZZ_CHECK(c.upstreams.count(route.proxy->upstream) == 1);
            break;
        }
    }
    std::string error;
    auto table = router::RouteTable::build(c.routes, &error);
    FUZZ_CHECK(table.has_value());
    // Not checked: that a Redis broker's url parses. The loader does not validate it yet
    // (config may not depend on broker/, where parse_redis_url lives), so
    // "redis://127.0.0.1:6379'0" loads and fails only when the broker starts. Left for the
    // config/broker owners; see README.md.
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    config::LoadResult r = config::load_config_string(text, "<fuzz>");
    FUZZ_CHECK((r.config != nullptr) == r.errors.empty());
    check_errors(text, r);
    if (r.config) check_config(*r.config);
    return 0;
}
