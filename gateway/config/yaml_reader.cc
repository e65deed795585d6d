#include "gateway/config/yaml_reader.h"

#include <algorithm>
#include <charconv>

#include "gateway/core/units.h"

namespace sluice::config {
namespace {

// Edit distance, small inputs only: used to suggest a key for a likely typo.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string or_list(std::span<const std::string_view> items) {
    std::string out;
    size_t i = 0;
    for (auto item : items) {
        if (i > 0) out += (i + 1 == items.size()) ? " or " : ", ";
        out += item;
        ++i;
    }
    return out;
}

// Messages quote config values, and a YAML value can hold line breaks (a quoted "a\nb", or
// a plain scalar running over a blank line). --check prints one line per error, so control
// characters are written as escapes (found by tests/fuzz/config_fuzz.cc).
std::string one_line(std::string message) {
    if (std::none_of(message.begin(), message.end(), [](char c) {
            return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
        })) {
        return message;
    }
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (char c : message) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

void Diagnostics::error(const YAML::Mark& at, std::string message) {
    int line = at.line < 0 ? 1 : at.line + 1;
    int column = at.column < 0 ? 1 : at.column + 1;
    errors_.push_back(ConfigError{file_, line, column, one_line(std::move(message))});
}

void Diagnostics::warning(const YAML::Mark& at, std::string message) {
    int line = at.line < 0 ? 1 : at.line + 1;
    int column = at.column < 0 ? 1 : at.column + 1;
    warnings_.push_back(ConfigError{file_, line, column, one_line(std::move(message))});
}

void Diagnostics::error_without_position(std::string message) {
    errors_.push_back(ConfigError{file_, 0, 0, one_line(std::move(message))});
}

std::vector<ConfigError> Diagnostics::take() {
    // Loaders check sections in dependency order (defaults before routes), so sort;
    // stable keeps two errors at one spot in the order they were found.
    std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    return std::move(errors_);
}

std::string join_path(std::string_view where, std::string_view key) {
    if (where.empty()) return std::string(key);
    std::string out(where);
    out += '.';
    out += key;
    return out;
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "nothing";
    }
}

std::optional<std::string> read_string(const Value& v, Diagnostics& diag) {
    if (!v.node.IsScalar()) {
        diag.error(v.mark, v.path + ": expected a string, got " + describe(v.node));
        return std::nullopt;
    }
    return v.node.Scalar();
}

std::optional<uint64_t> read_count(const Value& v, Diagnostics& diag) {
    if (v.node.IsScalar()) {
        const std::string& s = v.node.Scalar();
        uint64_t n = 0;
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        // from_chars takes no sign or spaces; require the whole text to be digits.
        if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return n;
        if (ec == std::errc::result_out_of_range) {
            diag.error(v.mark, v.path + ": number " + s + " is too large");
            return std::nullopt;
        }
    }
    diag.error(v.mark, v.path + ": expected a whole number, got " + describe(v.node));
    return std::nullopt;
}

std::optional<Millis> read_duration(const Value& v, Diagnostics& diag) {
    if (v.node.IsScalar()) {
        if (auto d = parse_duration(v.node.Scalar())) return d;
    }
    diag.error(v.mark, v.path + ": expected a duration like 30s (units ms, s, m, h), got " +
                           describe(v.node));
    return std::nullopt;
}

std::optional<uint64_t> read_size(const Value& v, Diagnostics& diag) {
    if (v.node.IsScalar()) {
        if (auto n = parse_size(v.node.Scalar())) return n;
    }
    diag.error(v.mark,
               v.path + ": expected a size like 512, 64KiB or 1MiB, got " + describe(v.node));
    return std::nullopt;
}

std::vector<Value> read_list(const Value& v, std::string_view what, Diagnostics& diag) {
    std::vector<Value> items;
    if (!v.node.IsSequence()) {
        diag.error(v.mark, v.path + ": expected a list of " + std::string(what) + ", got " +
                               describe(v.node));
        return items;
    }
    size_t i = 0;
    for (const auto& item : v.node) {
        items.push_back(Value::of(item, v.path + "[" + std::to_string(i++) + "]"));
    }
    return items;
}

std::optional<std::vector<std::string>> read_string_list(const Value& v, Diagnostics& diag) {
    if (!v.node.IsSequence()) {
        diag.error(v.mark, v.path + ": expected a list of strings like [a, b], got " +
                               describe(v.node));
        return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const auto& item : read_list(v, "strings", diag)) {
        auto s = read_string(item, diag);
        if (!s) {
            ok = false;
        } else if (s->empty()) {
            diag.error(item.mark, item.path + ": must not be empty");
            ok = false;
        } else {
            out.push_back(std::move(*s));
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

MapReader::MapReader(const Value& v, Diagnostics& diag)
    : diag_(diag), where_(v.path), mark_(v.mark) {
    if (!v.node.IsMap()) {
        std::string name = where_.empty() ? "the config" : where_;
        diag_.error(mark_, name + ": expected a map of settings, got " + describe(v.node));
        return;
    }
    is_map_ = true;
    // Copy each pair: yaml-cpp's iterator hands out a temporary, so a reference to
    // it->first would dangle.
    for (const auto& pair : v.node) {
        YAML::Node k = pair.first;
        if (!k.IsScalar()) {
            diag_.error(k.Mark(), "keys must be plain names, got " + describe(k) +
                                      (where_.empty() ? "" : " in " + where_));
            continue;
        }
        const std::string& name = k.Scalar();
        if (entry(name) != nullptr) {
            diag_.error(k.Mark(), where_.empty() ? "duplicate top-level key '" + name + "'"
                                                 : "duplicate key '" + name + "' in " + where_);
            continue;
        }
        entries_.push_back(Entry{name, k, pair.second, false});
    }
}

MapReader::Entry* MapReader::entry(std::string_view key) {
    for (auto& e : entries_) {
        if (e.key == key) return &e;
    }
    return nullptr;
}

const MapReader::Entry* MapReader::entry(std::string_view key) const {
    for (const auto& e : entries_) {
        if (e.key == key) return &e;
    }
    return nullptr;
}

std::optional<Value> MapReader::find(std::string_view key) {
    asked_.emplace_back(key);
    Entry* e = entry(key);
    if (e == nullptr) return std::nullopt;
    e->known = true;
    YAML::Mark at = e->value.IsNull() ? e->key_node.Mark() : e->value.Mark();
    return Value{e->value, at, path(key)};
}

std::vector<MapReader::Field> MapReader::all() {
    std::vector<Field> out;
    for (auto& e : entries_) {
        e.known = true;
        YAML::Mark at = e.value.IsNull() ? e.key_node.Mark() : e.value.Mark();
        out.push_back(Field{e.key, e.key_node.Mark(), Value{e.value, at, path(e.key)}});
    }
    return out;
}

bool MapReader::has(std::string_view key) const { return entry(key) != nullptr; }

YAML::Mark MapReader::key_mark(std::string_view key) const {
    const Entry* e = entry(key);
    return e != nullptr ? e->key_node.Mark() : mark_;
}

bool MapReader::require(std::string_view key) {
    if (has(key)) return true;
    asked_.emplace_back(key);
    if (!is_map_) return false;
    diag_.error(mark_, where_.empty() ? "missing required top-level key '" + std::string(key) + "'"
                                      : "missing required key '" + std::string(key) + "' in " +
                                            where_);
    return false;
}

bool MapReader::get_string(std::string_view key, std::string& out, bool allow_empty) {
    auto v = find(key);
    if (!v) return true;
    auto s = read_string(*v, diag_);
    if (!s) return false;
    if (s->empty() && !allow_empty) {
        diag_.error(v->mark, v->path + ": must not be empty");
        return false;
    }
    out = std::move(*s);
    return true;
}

bool MapReader::get_count(std::string_view key, uint64_t& out, uint64_t min, uint64_t max) {
    auto v = find(key);
    if (!v) return true;
    auto n = read_count(*v, diag_);
    if (!n) return false;
    if (*n < min || *n > max) {
        std::string range = max == UINT64_MAX ? "at least " + std::to_string(min)
                                              : "between " + std::to_string(min) + " and " +
                                                    std::to_string(max);
        diag_.error(v->mark, v->path + ": must be " + range + ", got " + std::to_string(*n));
        return false;
    }
    out = *n;
    return true;
}

bool MapReader::get_duration(std::string_view key, Millis& out, Millis min) {
    auto v = find(key);
    if (!v) return true;
    auto d = read_duration(*v, diag_);
    if (!d) return false;
    if (*d < min) {
        std::string need = min == Millis(1) ? "greater than 0" : "at least " + format_duration(min);
        diag_.error(v->mark, v->path + ": must be " + need + ", got " + v->node.Scalar());
        return false;
    }
    out = *d;
    return true;
}

bool MapReader::get_size(std::string_view key, uint64_t& out, uint64_t min) {
    auto v = find(key);
    if (!v) return true;
    auto n = read_size(*v, diag_);
    if (!n) return false;
    if (*n < min) {
        std::string need = min == 1 ? "greater than 0" : "at least " + std::to_string(min);
        diag_.error(v->mark, v->path + ": must be " + need + ", got " + v->node.Scalar());
        return false;
    }
    out = *n;
    return true;
}

bool MapReader::get_string_list(std::string_view key, std::vector<std::string>& out) {
    auto v = find(key);
    if (!v) return true;
    auto list = read_string_list(*v, diag_);
    if (!list) return false;
    out = std::move(*list);
    return true;
}

bool MapReader::get_bool(std::string_view key, bool& out) {
    std::string text;
    if (!find(key)) return true;
    if (!get_choice(key, text, {"true", "false"})) return false;
    out = text == "true";
    return true;
}

bool MapReader::get_choice(std::string_view key, std::string& out,
                           std::initializer_list<std::string_view> choices) {
    return get_choice(key, out, std::span<const std::string_view>(choices.begin(), choices.size()));
}

bool MapReader::get_choice(std::string_view key, std::string& out,
                           std::span<const std::string_view> choices) {
    auto v = find(key);
    if (!v) return true;
    if (v->node.IsScalar()) {
        for (auto c : choices) {
            if (v->node.Scalar() == c) {
                out = std::string(c);
                return true;
            }
        }
    }
    diag_.error(v->mark, v->path + ": expected " + or_list(choices) + ", got " +
                             describe(v->node));
    return false;
}

void MapReader::finish() {
    for (const auto& e : entries_) {
        if (e.known) continue;
        std::string msg = where_.empty() ? "unknown top-level key '" + e.key + "'"
                                         : "unknown key '" + e.key + "' in " + where_;
        // Short keys get a tighter bound, or "foo" would suggest "poll".
        size_t bound = e.key.size() >= 6 ? 2 : 1;
        for (const auto& candidate : asked_) {
            if (edit_distance(e.key, candidate) <= bound) {
                msg += " (did you mean '" + candidate + "'?)";
                break;
            }
        }
        diag_.error(e.key_node.Mark(), msg);
    }
}

}  // namespace sluice::config
