// sluice-bench's command line: the Options struct with its defaults, the parser (which
// validates everything, including that every address is loopback) and the --help text.
// Pure; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/sluice_bench/target.h"

namespace sluice::bench {

enum class PublishMode : uint8_t { None, Http, Redis, Fcall };

// How the HTTP publisher writes the request body: the payload itself (sluice, Nchan), or
// Pushpin's GRIP publish JSON carrying the payload as an http-stream SSE event.
enum class PublishFormat : uint8_t { Raw, Pushpin };

std::string_view publish_mode_name(PublishMode m);

struct Options {
    std::string url = "http://127.0.0.1:8080/bench/{c}/stream";
    UrlTemplate target;                   // parsed from url
    uint32_t connections = 100;
    uint32_t channels = 1;                // connection i subscribes to channel i % channels
    double ramp_per_s = 1000;             // new connections per second
    double duration_s = 10;               // hard bound on the whole run
    double drain_s = 2;                   // publishing stops this long before the end
    std::vector<uint32_t> source_ips;     // IPv4, host order; empty = let the kernel choose
    std::vector<std::string> headers;     // extra "Name: value" lines for subscriber requests
    std::optional<double> storm_at_s;     // --reconnect-storm-at
    double stalled_fraction = 0;          // share of connections that stop reading once live
    uint32_t h2_streams = 0;              // >0: HTTP/2, this many streams per connection

    PublishMode publish = PublishMode::Http;
    std::string publish_url = "http://127.0.0.1:8080/_sluice/publish/bench:{c}";
    UrlTemplate publish_target;           // parsed from publish_url
    PublishFormat publish_format = PublishFormat::Raw;
    std::string publish_channel = "bench:{c}";  // channel named in pushpin-format bodies
    uint32_t publish_connections = 4;     // HTTP publisher connections
    std::string token;                    // HTTP publisher: Authorization: Bearer <token>
    Endpoint redis{"127.0.0.1", 6379, false};
    std::string redis_channel = "bench:{c}";
    double rate_per_s = 100;              // events per second over all channels
    uint64_t events = 0;                  // 0 = keep publishing until the publish window ends
    std::size_t size = 0;                 // payload bytes; 0 = natural size (~80 bytes)

    bool json_only = false;
};

struct ParsedArgs {
    std::optional<Options> options;  // set when the arguments are valid
    bool help = false;               // --help was given
    std::string error;               // why the arguments are invalid
};

ParsedArgs parse_args(const std::vector<std::string_view>& args);  // args exclude argv[0]

std::string_view help_text();

}  // namespace sluice::bench
