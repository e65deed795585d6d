// Every metric sluice exports, declared once: name, type, help, label names, and how its
// samples are collected at scrape time. The Prometheus text is rendered from these
// declarations alone (render_catalog), so a series cannot be renamed in one place and
// not the other. docs/operations.md lists the same series for operators.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/admin/metrics.h"
#include "gateway/admin/process_stats.h"

namespace sluice::admin {

enum class MetricType { Counter, Gauge, Histogram };
std::string_view type_name(MetricType t);

// What a scrape reads: the workers' cells, the process-wide state, /proc.
struct ScrapeInput {
    const std::vector<const WorkerMetrics*>& workers;
    const GlobalState& global;
    std::optional<ProcessStats> process;
};

// Writes the samples of one declared metric. Label values come in the declared order;
// a sample with the wrong number of them is a programming error (std::logic_error).
class SampleWriter {
  public:
    SampleWriter(std::string& out, std::string_view name,
                 const std::vector<std::string_view>& labels)
        : out_(out), name_(name), labels_(labels) {}

    void sample(std::initializer_list<std::string_view> label_values, double value);
    void sample(double value) { sample({}, value); }
    // A histogram's _bucket (cumulative, with le="+Inf"), _sum and _count lines.
    // `counts` has one entry per bound plus the last for +Inf, not cumulative.
    void histogram(std::initializer_list<std::string_view> label_values,
                   std::span<const double> bounds, std::span<const uint64_t> counts, double sum,
                   uint64_t count);

  private:
    void line(std::string_view suffix, std::initializer_list<std::string_view> label_values,
              std::string_view extra_label, std::string_view extra_value, double value);

    std::string& out_;
    std::string_view name_;
    const std::vector<std::string_view>& labels_;
};

struct MetricDecl {
    std::string_view name;
    MetricType type;
    std::string_view help;
    std::vector<std::string_view> labels;
    void (*collect)(const ScrapeInput&, SampleWriter&);
    // Left out of a scrape when this says so (the Redis series with the memory broker,
    // process_* without /proc); nullptr = always there.
    bool (*present)(const ScrapeInput&) = nullptr;
};

const std::vector<MetricDecl>& metric_catalog();

// The Prometheus text format (version 0.0.4) for the given declarations.
std::string render_catalog(const std::vector<MetricDecl>& catalog, const ScrapeInput& in);

} // namespace sluice::admin
