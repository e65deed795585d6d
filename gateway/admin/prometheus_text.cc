// Rendering of declared metrics in the Prometheus text format.
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "gateway/admin/metric_catalog.h"

namespace sluice::admin {

namespace {

void append_label_value(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
}

void append_number(std::string& out, double v) {
    char buf[32];
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    // Whole numbers (every counter) print as integers, not in exponent form.
    if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
        auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
        out.append(buf, r.ptr);
        return;
    }
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

} // namespace

std::string_view type_name(MetricType t) {
    switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
    }
    return "untyped";
}

void SampleWriter::line(std::string_view suffix,
                        std::initializer_list<std::string_view> label_values,
                        std::string_view extra_label, std::string_view extra_value, double value) {
    if (label_values.size() != labels_.size())
        throw std::logic_error("metric " + std::string(name_) + ": wrong number of label values");
    out_ += name_;
    out_ += suffix;
    if (!labels_.empty() || !extra_label.empty()) {
        out_ += '{';
        size_t i = 0;
        for (std::string_view v : label_values) {
            if (i > 0) out_ += ',';
            out_ += labels_[i++];
            out_ += "=\"";
            append_label_value(out_, v);
            out_ += '"';
        }
        if (!extra_label.empty()) {
            if (i > 0) out_ += ',';
            out_ += extra_label;
            out_ += "=\"";
            out_ += extra_value;
            out_ += '"';
        }
        out_ += '}';
    }
    out_ += ' ';
    append_number(out_, value);
    out_ += '\n';
}

void SampleWriter::sample(std::initializer_list<std::string_view> label_values, double value) {
    line({}, label_values, {}, {}, value);
}

void SampleWriter::histogram(std::initializer_list<std::string_view> label_values,
                             std::span<const double> bounds, std::span<const uint64_t> counts,
                             double sum, uint64_t count) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        std::string le;
        if (i < bounds.size())
            append_number(le, bounds[i]);
        else
            le = "+Inf";
        line("_bucket", label_values, "le", le, static_cast<double>(cumulative));
    }
    line("_sum", label_values, {}, {}, sum);
    line("_count", label_values, {}, {}, static_cast<double>(count));
}

std::string render_catalog(const std::vector<MetricDecl>& catalog, const ScrapeInput& in) {
    std::string out;
    out.reserve(16 * 1024);
    for (const MetricDecl& m : catalog) {
        if (m.present && !m.present(in)) continue;
        out += "# HELP ";
        out += m.name;
        out += ' ';
        out += m.help;
        out += "\n# TYPE ";
        out += m.name;
        out += ' ';
        out += type_name(m.type);
        out += '\n';
        SampleWriter w(out, m.name, m.labels);
        m.collect(in, w);
    }
    return out;
}

} // namespace sluice::admin
