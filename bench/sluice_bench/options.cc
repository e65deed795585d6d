#include "bench/sluice_bench/options.h"

#include <charconv>
#include <cmath>

namespace sluice::bench {
namespace {

constexpr std::string_view kHelp = R"(sluice-bench: load generator for SSE gateways (loopback only)

Opens N concurrent SSE connections, publishes M events at rate R over K channels, and
reports publish->receive latency (p50/p90/p99/p99.9/max) plus lost, duplicated and reordered
events as one JSON line on stdout and a readable summary on stderr.

Usage: sluice-bench [options]

Subscribers:
  --url TEMPLATE          SSE URL; {i} = connection index, {c} = channel index;
                          https:// for TLS (certificate not verified: loopback only)
                          (default http://127.0.0.1:8080/bench/{c}/stream)
  --connections N         concurrent SSE connections (default 100)
  --channels K            channels; connection i uses channel i % K (default 1)
  --ramp R[/s]            new connections per second (default 1000)
  --source-ips RANGE      spread connections over these source addresses to avoid
                          ephemeral-port exhaustion: A-B or A,B,... in 127.0.0.0/8, or
                          "none" (default 127.0.0.2-127.0.0.254 for an IPv4 target)
  --header 'Name: value'  extra request header for subscribers (repeatable)
  --reconnect-storm-at S  at S seconds, every open stream drops and reconnects at once
                          with Last-Event-ID
  --h2-streams S          speak HTTP/2 (ALPN h2 on https://, prior knowledge on http://)
                          with S streams per connection; --connections counts streams
                          (default 0: HTTP/1.1, one stream per connection)
  --stalled-fraction F    this share (0..1) of the connections, spread evenly over the
                          channels, stop reading once their stream is live (4 KiB receive
                          buffer): slow clients. They are left out of latency and losses
                          and never reconnect (default 0)

Publisher:
  --publish MODE          http | redis | fcall | none (default http)
                            http:  POST the payload to --publish-url
                            redis: PUBLISH <channel> <payload>, pipelined
                            fcall: FCALL sluice_publish 1 <channel> <payload>, pipelined
  --publish-url TEMPLATE  (default http://127.0.0.1:8080/_sluice/publish/bench:{c})
  --publish-connections P HTTP publisher connections; channel c uses connection c % P
                          (default 4)
  --publish-format F      HTTP body: raw (the payload, default) or pushpin (Pushpin's
                          publish JSON, {"items":[{"channel":...,"formats":{"http-stream":
                          {"content":"id: N\ndata: <payload>\n\n"}}}]})
  --publish-channel TEMPLATE  channel named in pushpin bodies; {c} = channel index
                          (default bench:{c})
  --token T               HTTP publisher sends Authorization: Bearer T
  --redis HOST:PORT       Redis server (default 127.0.0.1:6379)
  --redis-channel TEMPLATE  Redis channel name; {c} = channel index (default bench:{c})
  --rate R                events per second over all channels (default 100)
  --events M              events to publish, then stop (default 0: until the publish
                          window ends)
  --size BYTES            payload size (default: natural size, about 80 bytes)

Run:
  --duration S            the whole run is bounded by S seconds (default 10)
  --drain S               publishing stops S seconds before the end, so in-flight
                          events can arrive (default 2)
  --json-only             print only the JSON line
  --help                  this text

Times accept "10", "2.5", "10s" or "500ms". Every address must be loopback
(127.0.0.0/8, [::1] or localhost). Exit status: 0 clean run, 1 the run finished with
failures (failed connections, publish errors, lost/duplicated/reordered events, nothing
received), 2 bad arguments.
)";

bool parse_uint(std::string_view s, uint64_t& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_double(std::string_view s, double& out) {
    // from_chars for double is available in GCC 11+, which C++20 builds have.
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

// "10", "2.5", "10s", "500ms" -> seconds.
bool parse_seconds(std::string_view s, double& out) {
    double scale = 1;
    if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
        s.remove_suffix(2);
        scale = 0.001;
    } else if (s.size() > 1 && s.back() == 's') {
        s.remove_suffix(1);
    }
    if (!parse_double(s, out) || out < 0) return false;
    out *= scale;
    return true;
}

class ArgParser {
public:
    explicit ArgParser(Options& o) : o_(o) {}

    // Returns false with error_ set when `name` is unknown or `value` is invalid.
    bool apply(std::string_view name, std::string_view value) {
        auto seconds = [&](double& dst) { return parse_seconds(value, dst) || bad(name, value); };
        auto count32 = [&](uint32_t& dst, uint64_t max) {
            uint64_t v = 0;
            if (!parse_uint(value, v) || v > max) return bad(name, value);
            dst = static_cast<uint32_t>(v);
            return true;
        };
        auto positive = [&](double& dst) {
            return (parse_double(value, dst) && dst > 0) || bad(name, value);
        };
        if (name == "url") o_.url = value;
        else if (name == "connections") return count32(o_.connections, 10'000'000);
        else if (name == "channels") return count32(o_.channels, 10'000'000);
        else if (name == "ramp") {
            if (value.size() > 2 && value.substr(value.size() - 2) == "/s") value.remove_suffix(2);
            return positive(o_.ramp_per_s);
        }
        else if (name == "duration") return seconds(o_.duration_s);
        else if (name == "drain") return seconds(o_.drain_s);
        else if (name == "source-ips") source_ips_ = std::string(value);
        else if (name == "header") {
            std::size_t colon = value.find(':');
            if (colon == 0 || colon == std::string_view::npos ||
                value.find_first_of("\r\n") != std::string_view::npos)
                return bad(name, value);
            o_.headers.emplace_back(value);
        }
        else if (name == "reconnect-storm-at") {
            double s = 0;
            if (!seconds(s)) return false;
            o_.storm_at_s = s;
        }
        else if (name == "publish") {
            if (value == "http") o_.publish = PublishMode::Http;
            else if (value == "redis") o_.publish = PublishMode::Redis;
            else if (value == "fcall") o_.publish = PublishMode::Fcall;
            else if (value == "none") o_.publish = PublishMode::None;
            else return bad(name, value);
        }
        else if (name == "publish-url") o_.publish_url = value;
        else if (name == "publish-format") {
            if (value == "raw") o_.publish_format = PublishFormat::Raw;
            else if (value == "pushpin") o_.publish_format = PublishFormat::Pushpin;
            else return bad(name, value);
        }
        else if (name == "publish-channel") o_.publish_channel = value;
        else if (name == "stalled-fraction") {
            double f = 0;
            if (!parse_double(value, f) || f < 0 || f > 1) return bad(name, value);
            o_.stalled_fraction = f;
        }
        else if (name == "h2-streams") {
            if (!count32(o_.h2_streams, 10'000)) return false;
            if (o_.h2_streams == 0) return bad(name, value);
        }
        else if (name == "publish-connections") {
            if (!count32(o_.publish_connections, 1024)) return false;
            if (o_.publish_connections == 0) return bad(name, value);
        }
        else if (name == "token") {
            if (value.find_first_of("\r\n") != std::string_view::npos) return bad(name, value);
            o_.token = value;
        }
        else if (name == "redis") redis_ = std::string(value);
        else if (name == "redis-channel") o_.redis_channel = value;
        else if (name == "rate") return positive(o_.rate_per_s);
        else if (name == "events") return parse_uint(value, o_.events) || bad(name, value);
        else if (name == "size") {
            uint64_t v = 0;
            if (!parse_uint(value, v) || v > 64 * 1024 * 1024) return bad(name, value);
            o_.size = static_cast<std::size_t>(v);
        }
        else {
            error_ = "unknown option --" + std::string(name);
            return false;
        }
        return true;
    }

    // Cross-option checks, run once all options are known.
    bool finish() {
        std::string why;
        if (o_.connections == 0 && o_.publish == PublishMode::None)
            return fail("nothing to do: --connections 0 and --publish none");
        if (o_.channels == 0) return fail("--channels must be at least 1");
        if (o_.duration_s <= 0 || o_.duration_s > 7 * 24 * 3600)
            return fail("--duration must be above 0 and at most a week");
        if (o_.storm_at_s && (*o_.storm_at_s <= 0 || *o_.storm_at_s >= o_.duration_s))
            return fail("--reconnect-storm-at must lie inside the run (0 < S < --duration)");
        if (o_.publish != PublishMode::None && o_.drain_s >= o_.duration_s)
            return fail("--drain must be shorter than --duration");
        auto target = parse_url(o_.url, &why);
        if (!target) return fail("--url: " + why);
        o_.target = *target;
        if (o_.h2_streams && o_.stalled_fraction > 0)
            return fail("--stalled-fraction is for HTTP/1.1 (a stalled HTTP/2 stream needs its own "
                        "flow control window, which the bench does not manage)");
        if (o_.publish == PublishMode::Http) {
            auto pub = parse_url(o_.publish_url, &why);
            if (!pub) return fail("--publish-url: " + why);
            if (pub->tls) return fail("--publish-url: the publisher speaks plain HTTP only");
            o_.publish_target = *pub;
        }
        if (redis_) {
            auto ep = parse_host_port(*redis_, 6379, &why);
            if (!ep) return fail("--redis: " + why);
            o_.redis = *ep;
        }
        if (source_ips_ && *source_ips_ != "none") {
            if (o_.target.endpoint.ipv6)
                return fail("--source-ips: the --url target is IPv6; use --source-ips none");
            auto ips = parse_source_ips(*source_ips_, &why);
            if (!ips) return fail("--source-ips: " + why);
            o_.source_ips = std::move(*ips);
        } else if (!source_ips_ && !o_.target.endpoint.ipv6) {
            o_.source_ips = *parse_source_ips("127.0.0.2-127.0.0.254", nullptr);
        }
        return true;
    }

    const std::string& error() const { return error_; }

private:
    bool bad(std::string_view name, std::string_view value) {
        error_ = "invalid value \"" + std::string(value) + "\" for --" + std::string(name);
        return false;
    }
    bool fail(std::string msg) {
        error_ = std::move(msg);
        return false;
    }

    Options& o_;
    std::string error_;
    std::optional<std::string> source_ips_;
    std::optional<std::string> redis_;
};

}  // namespace

std::string_view publish_mode_name(PublishMode m) {
    switch (m) {
    case PublishMode::None: return "none";
    case PublishMode::Http: return "http";
    case PublishMode::Redis: return "redis";
    case PublishMode::Fcall: return "fcall";
    }
    return "?";
}

std::string_view help_text() { return kHelp; }

ParsedArgs parse_args(const std::vector<std::string_view>& args) {
    ParsedArgs out;
    Options o;
    ArgParser p(o);
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (a == "--help" || a == "-h") {
            out.help = true;
            return out;
        }
        if (a == "--json-only") {
            o.json_only = true;
            continue;
        }
        if (a.substr(0, 2) != "--") {
            out.error = "unexpected argument \"" + std::string(a) + "\"";
            return out;
        }
        a.remove_prefix(2);
        std::string_view name = a;
        std::string_view value;
        if (std::size_t eq = a.find('='); eq != std::string_view::npos) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            out.error = "option --" + std::string(name) + " needs a value";
            return out;
        }
        if (!p.apply(name, value)) {
            out.error = p.error();
            return out;
        }
    }
    if (!p.finish()) {
        out.error = p.error();
        return out;
    }
    out.options = std::move(o);
    return out;
}

}  // namespace sluice::bench
