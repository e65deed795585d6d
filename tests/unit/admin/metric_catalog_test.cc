#include <catch2/catch.hpp>

#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "core/version.h"
#include "gateway/admin/metric_catalog.h"
#include "gateway/tls/failure.h"

using namespace sluice::admin;

namespace {

bool valid_metric_name(std::string_view n) {
    if (n.empty()) return false;
    for (size_t i = 0; i < n.size(); ++i) {
        char c = n[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

// A small parser of the text format for the lines this renderer writes.
Sample parse_sample(const std::string& line) {
    Sample s;
    size_t brace = line.find('{');
    size_t space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    if (brace != std::string::npos && brace < space) {
        s.name = line.substr(0, brace);
        size_t end = line.rfind('}');
        std::string body = line.substr(brace + 1, end - brace - 1);
        size_t i = 0;
        while (i < body.size()) {
            size_t eq = body.find('=', i);
            std::string key = body.substr(i, eq - i);
            REQUIRE(body[eq + 1] == '"');
            std::string value;
            size_t j = eq + 2;
            while (body[j] != '"') {
                if (body[j] == '\\') ++j;
                value += body[j++];
            }
            s.labels[key] = value;
            i = j + 1;
            if (i < body.size() && body[i] == ',') ++i;
        }
    } else {
        s.name = line.substr(0, space);
    }
    s.value = std::stod(line.substr(space + 1));
    return s;
}

struct Scrape {
    std::map<std::string, std::string> types; // from # TYPE
    std::vector<Sample> samples;
    std::map<std::string, int> help_lines;
};

Scrape parse(const std::string& text) {
    Scrape out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# HELP ", 0) == 0) {
            ++out.help_lines[line.substr(7, line.find(' ', 7) - 7)];
        } else if (line.rfind("# TYPE ", 0) == 0) {
            std::string rest = line.substr(7);
            out.types[rest.substr(0, rest.find(' '))] = rest.substr(rest.find(' ') + 1);
        } else {
            out.samples.push_back(parse_sample(line));
        }
    }
    return out;
}

double value_of(const Scrape& s, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
    for (const auto& x : s.samples)
        if (x.name == name && x.labels == labels) return x.value;
    FAIL("no sample " << name);
    return -1;
}

// Two workers and a Redis broker with something in every cell, so every declared series
// has samples.
struct Fixture {
    WorkerMetrics w0, w1;
    sluice::broker::BrokerCounters broker_counters;
    PluginDecisions decisions;
    GlobalState global;
    std::vector<const WorkerMetrics*> workers{&w0, &w1};

    Fixture() {
        w0.sent_bytes.add(100);
        w1.sent_bytes.add(23);
        w0.connections_open.add(2);
        w1.connections_open.add(5);
        w0.routes.record("/events/{ch}", 200, 0.003);
        w1.routes.record("/events/{ch}", 200, 7);
        w1.routes.record("/a\"b", 404, 0.5);
        w0.upstreams.count("app", "requests");
        w0.upstreams.count("app", "retries");
        w1.upstreams.count("app", "connect_failed");
        broker_counters.messages_plain.add(4);
        global.broker = &broker_counters;
        global.broker_kind = "redis";
        global.events_received = 7;
        decisions.counter("jwt", "/events/{ch}", "allow").fetch_add(3);
        decisions.counter("jwt", "/events/{ch}", "forbidden");
        global.plugin_decisions = &decisions;
    }
    std::string render() {
        return render_catalog(metric_catalog(), {workers, global, read_process_stats()});
    }
};

} // namespace

TEST_CASE("every metric is declared once, with a conventional name", "[admin][metrics]") {
    std::set<std::string_view> names;
    for (const MetricDecl& m : metric_catalog()) {
        INFO(m.name);
        CHECK(valid_metric_name(m.name));
        CHECK(names.insert(m.name).second);
        CHECK_FALSE(m.help.empty());
        CHECK(m.collect != nullptr);
        // Counters end in _total and only counters do; histograms name their unit.
        CHECK((m.type == MetricType::Counter) == ends_with(m.name, "_total"));
        if (m.type == MetricType::Histogram) CHECK(ends_with(m.name, "_seconds"));
        for (std::string_view l : m.labels) {
            CHECK(valid_metric_name(l));
            CHECK(l != "le");
            CHECK(l.substr(0, 2) != "__");
        }
    }
    CHECK(names.count("sluice_sent_bytes_total") == 1);
    CHECK(names.count("sluice_bytes_out_total") == 0);
}

TEST_CASE("a scrape renders exactly the declared series with the declared labels",
          "[admin][metrics]") {
    Fixture f;
    Scrape s = parse(f.render());
    std::map<std::string, const MetricDecl*> decls;
    for (const MetricDecl& m : metric_catalog())
        decls[std::string(m.name)] = &m;
    for (const auto& [name, decl] : decls) {
        INFO(name);
        CHECK(s.help_lines[name] == 1);
        CHECK(s.types[name] == std::string(type_name(decl->type)));
    }
    CHECK(s.types.size() == decls.size());
    for (const Sample& x : s.samples) {
        INFO(x.name);
        std::string base = x.name;
        bool histogram_part = false;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            std::string b =
                base.substr(0, base.size() - std::min(base.size(), std::strlen(suffix)));
            if (ends_with(base, suffix) && decls.count(b) &&
                decls[b]->type == MetricType::Histogram) {
                base = b;
                histogram_part = true;
            }
        }
        REQUIRE(decls.count(base) == 1);
        std::set<std::string> expected(decls[base]->labels.begin(), decls[base]->labels.end());
        if (histogram_part && ends_with(x.name, "_bucket")) expected.insert("le");
        std::set<std::string> got;
        for (const auto& [k, v] : x.labels)
            got.insert(k);
        CHECK(got == expected);
    }
}

TEST_CASE("per-worker cells are summed; process-wide counts are not", "[admin][metrics]") {
    Fixture f;
    Scrape s = parse(f.render());
    CHECK(value_of(s, "sluice_sent_bytes_total") == 123);
    CHECK(value_of(s, "sluice_connections_open") == 7);
    CHECK(value_of(s, "sluice_worker_connections_open", {{"worker", "1"}}) == 5);
    // Received once for the process, with two workers: not 14.
    CHECK(value_of(s, "sluice_events_received_total") == 7);
    CHECK(value_of(s, "sluice_broker_messages_total", {{"mode", "plain"}}) == 4);
    CHECK(value_of(s, "sluice_upstream_failures_total",
                   {{"upstream", "app"}, {"reason", "connect_failed"}}) == 1);
    CHECK(value_of(s, "sluice_upstream_retries_total", {{"upstream", "app"}}) == 1);
    CHECK(value_of(s, "sluice_http_requests_total", {{"route", "/a\"b"}, {"status", "404"}}) == 1);
    CHECK(value_of(s, "sluice_http_request_duration_seconds_bucket",
                   {{"route", "/events/{ch}"}, {"le", "0.005"}}) == 1);
    CHECK(value_of(s, "sluice_http_request_duration_seconds_bucket",
                   {{"route", "/events/{ch}"}, {"le", "+Inf"}}) == 2);
    CHECK(value_of(s, "sluice_http_request_duration_seconds_count", {{"route", "/events/{ch}"}}) ==
          2);
}

TEST_CASE("plugin decisions: one table for the process, every series taken", "[admin][metrics]") {
    Fixture f;
    Scrape s = parse(f.render());
    CHECK(value_of(s, "sluice_plugin_decisions_total",
                   {{"plugin", "jwt"}, {"route", "/events/{ch}"}, {"decision", "allow"}}) == 3);
    // Taken when the filter was built, never incremented: exported at 0.
    CHECK(value_of(s, "sluice_plugin_decisions_total",
                   {{"plugin", "jwt"}, {"route", "/events/{ch}"}, {"decision", "forbidden"}}) == 0);
    // The same counter for the same series (a reload's new filter counts on).
    CHECK(&f.decisions.counter("jwt", "/events/{ch}", "allow") ==
          &f.decisions.counter("jwt", "/events/{ch}", "allow"));
}

TEST_CASE("build info names the version, commit and build type", "[admin][metrics]") {
    Fixture f;
    Scrape s = parse(f.render());
    CHECK(value_of(s, "sluice_build_info",
                   {{"version", sluice::kVersion},
                    {"commit", sluice::kGitCommit},
                    {"build_type", sluice::kBuildType}}) == 1);
}

TEST_CASE("the Redis series are left out with the memory broker", "[admin][metrics]") {
    Fixture f;
    f.global.broker = nullptr;
    f.global.broker_kind = "memory";
    Scrape s = parse(f.render());
    CHECK(s.types.count("sluice_broker_messages_total") == 0);
    CHECK(s.types.count("sluice_broker_up") == 1);
}

TEST_CASE("process series come from /proc", "[admin][metrics]") {
    auto p = read_process_stats();
    REQUIRE(p.has_value());
    CHECK(p->open_fds >= 3); // stdin, stdout, stderr at least
    CHECK(p->max_fds >= p->open_fds);
    CHECK(p->resident_bytes > 0);
    CHECK(p->virtual_bytes >= p->resident_bytes);
    CHECK(p->start_time_seconds > 0);
    CHECK(p->start_time_seconds <= static_cast<double>(std::time(nullptr)) + 1);
    Fixture f;
    Scrape s = parse(f.render());
    CHECK(value_of(s, "process_max_fds") == static_cast<double>(p->max_fds));
    CHECK(s.types["process_cpu_seconds_total"] == "counter");
}

TEST_CASE("a sample with the wrong number of label values is refused", "[admin][metrics]") {
    std::string out;
    std::vector<std::string_view> labels{"a"};
    SampleWriter w(out, "x", labels);
    CHECK_THROWS_AS(w.sample(1), std::logic_error);
    w.sample({"v"}, 2);
    CHECK(out == "x{a=\"v\"} 2\n");
}

TEST_CASE("TLS handshakes by version and failures by reason, summed over workers", "[admin][metrics]") {
    Fixture f;
    f.w0.tls.handshakes[TlsStats::version_index("TLSv1.3")].add(3);
    f.w1.tls.handshakes[TlsStats::version_index("TLSv1.3")].add(1);
    f.w1.tls.handshakes[TlsStats::version_index("TLSv1.2")].add(2);
    f.w0.tls.resumed.add(1);
    f.w0.tls.failures[TlsStats::failure_index("not_tls")].add(1);
    f.w1.tls.failures[TlsStats::failure_index("timeout")].add(2);
    f.w1.tls.failures[TlsStats::failure_index("no such reason")].add(1);  // counted as other
    Scrape s = parse(f.render());
    CHECK(value_of(s, "sluice_tls_handshakes_total", {{"version", "TLSv1.3"}}) == 4);
    CHECK(value_of(s, "sluice_tls_handshakes_total", {{"version", "TLSv1.2"}}) == 2);
    CHECK(value_of(s, "sluice_tls_resumed_total") == 1);
    CHECK(value_of(s, "sluice_tls_handshake_failures_total", {{"reason", "not_tls"}}) == 1);
    CHECK(value_of(s, "sluice_tls_handshake_failures_total", {{"reason", "timeout"}}) == 2);
    CHECK(value_of(s, "sluice_tls_handshake_failures_total", {{"reason", "other"}}) == 1);
    // Every reason is a series from the start (0), so rates work before the first failure.
    CHECK(value_of(s, "sluice_tls_handshake_failures_total", {{"reason", "unknown_ca"}}) == 0);
}

TEST_CASE("the TLS failure labels are tls::FailureReason's, then timeout", "[admin][metrics]") {
    using sluice::tls::FailureReason;
    for (auto r : {FailureReason::NotTls, FailureReason::ProtocolVersion, FailureReason::NoSharedCipher,
                   FailureReason::UnknownCa, FailureReason::BadCertificate,
                   FailureReason::NoApplicationProtocol, FailureReason::Other})
        CHECK(TlsStats::kFailureReasons[TlsStats::failure_index(sluice::tls::reason_name(r))] ==
              sluice::tls::reason_name(r));
    CHECK(TlsStats::kFailureReasons.back() == "timeout");
}

TEST_CASE("HTTP/2 connections, streams, resets and GOAWAYs by reason, summed over workers", "[admin][metrics][h2]") {
    Fixture f;
    f.w0.h2.connections_open.add(2);
    f.w1.h2.connections_open.add(1);
    f.w0.h2.connections_total.add(5);
    f.w1.h2.streams_open.add(7);
    f.w1.h2.streams_total.add(9);
    f.w0.h2.resets[H2Stats::reset_index("slow")].add(1);
    f.w1.h2.resets[H2Stats::reset_index("slow")].add(2);
    f.w1.h2.resets[H2Stats::reset_index("no such reason")].add(1);  // counted as error
    f.w0.h2.goaways[H2Stats::goaway_index("rapid_reset")].add(1);
    f.w0.h2.goaways[H2Stats::goaway_index("unknown")].add(1);  // counted as protocol
    Scrape s = parse(f.render());
    CHECK(value_of(s, "sluice_http2_connections_open") == 3);
    CHECK(value_of(s, "sluice_http2_connections_total") == 5);
    CHECK(value_of(s, "sluice_http2_streams_open") == 7);
    CHECK(value_of(s, "sluice_http2_streams_total") == 9);
    CHECK(value_of(s, "sluice_http2_stream_resets_total", {{"reason", "slow"}}) == 3);
    CHECK(value_of(s, "sluice_http2_stream_resets_total", {{"reason", "error"}}) == 1);
    CHECK(value_of(s, "sluice_http2_stream_resets_total", {{"reason", "client"}}) == 0);
    CHECK(value_of(s, "sluice_http2_goaways_total", {{"reason", "rapid_reset"}}) == 1);
    CHECK(value_of(s, "sluice_http2_goaways_total", {{"reason", "protocol"}}) == 1);
    CHECK(value_of(s, "sluice_http2_goaways_total", {{"reason", "drain"}}) == 0);
}
