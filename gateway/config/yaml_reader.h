// Helpers the config loaders share: an error collector that keeps file:line:col for
// every problem, typed readers for scalar values (strings, counts, durations, sizes), and
// MapReader, which walks one YAML map, hands out its values and reports unknown,
// duplicate and missing keys. Used by gateway/config/ and by the plugins (plugins/), which
// read their own options with MapReader; nothing here throws.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "gateway/config/config.h"

namespace sluice::config {

// Collects errors; take() returns them sorted into file order.
class Diagnostics {
  public:
    explicit Diagnostics(std::string file) : file_(std::move(file)) {}

    // `at` is yaml-cpp's 0-based mark; a null mark (-1) is reported at 1:1.
    void error(const YAML::Mark& at, std::string message);
    // For problems without a position (the file cannot be read): line and column 0.
    void error_without_position(std::string message);

    // Something that works but deserves attention (an expired certificate): printed by
    // --check and at start-up, never a reason to refuse the file.
    void warning(const YAML::Mark& at, std::string message);

    bool empty() const { return errors_.empty(); }
    const std::string& file() const { return file_; }  // the config file's name, as given
    std::vector<ConfigError> take();
    std::vector<ConfigError> take_warnings() { return std::move(warnings_); }

  private:
    std::string file_;
    std::vector<ConfigError> errors_;
    std::vector<ConfigError> warnings_;
};

// Joins a dotted location for messages: join_path("", "limits") = "limits",
// join_path("routes[0]", "sse") = "routes[0].sse".
std::string join_path(std::string_view where, std::string_view key);

// How a node reads in a message: "'30'" for scalars, "a list", "a map", "nothing".
std::string describe(const YAML::Node& node);

// One value with what messages need: where to point and what to call it.
struct Value {
    YAML::Node node;
    YAML::Mark mark;   // the value, or its key when the value is empty (yaml-cpp would
                       // place an empty value at the next token, often on the next line)
    std::string path;  // "limits.header_timeout", "listen[1]"

    // For list items and the document root.
    static Value of(const YAML::Node& node, std::string path) {
        return Value{node, node.Mark(), std::move(path)};
    }
};

// Typed readers: on a bad value they report at v.mark and return nullopt.
std::optional<std::string> read_string(const Value& v, Diagnostics& diag);
std::optional<uint64_t> read_count(const Value& v, Diagnostics& diag);
std::optional<Millis> read_duration(const Value& v, Diagnostics& diag);
std::optional<uint64_t> read_size(const Value& v, Diagnostics& diag);
std::optional<std::vector<std::string>> read_string_list(const Value& v, Diagnostics& diag);
// Each item of a list as a Value ("routes[0]", ...); reports a non-list and returns {}.
std::vector<Value> read_list(const Value& v, std::string_view what, Diagnostics& diag);

// One YAML map being read. Every key the loader asks about is marked known; finish()
// then reports the rest as unknown. Keys keep file order, so errors do too.
class MapReader {
  public:
    // v.path names the map in messages ("" for the top level, "routes[2].sse"). A value
    // that is not a map is reported once; the reader then behaves as an empty map.
    MapReader(const Value& v, Diagnostics& diag);

    bool is_map() const { return is_map_; }
    const YAML::Mark& mark() const { return mark_; }
    const std::string& where() const { return where_; }
    std::string path(std::string_view key) const { return join_path(where_, key); }
    Diagnostics& diag() { return diag_; }

    // The value for `key`, or nullopt when absent. Marks the key known.
    std::optional<Value> find(std::string_view key);
    // Position of the key itself (of the map when absent).
    YAML::Mark key_mark(std::string_view key) const;
    bool has(std::string_view key) const;

    // For maps whose keys are names the user picks (upstreams): every entry in file
    // order, all marked known.
    struct Field {
        std::string key;
        YAML::Mark key_mark;
        Value value;
    };
    std::vector<Field> all();

    // Reports "missing required key" at the map when `key` is absent; returns presence.
    // Silent when the node was not a map (that error is already reported).
    bool require(std::string_view key);

    // Typed getters: absent key leaves `out` unchanged and returns true; a bad value is
    // reported (at the value) and returns false with `out` unchanged.
    bool get_string(std::string_view key, std::string& out, bool allow_empty = false);
    bool get_count(std::string_view key, uint64_t& out, uint64_t min, uint64_t max);
    bool get_duration(std::string_view key, Millis& out, Millis min = Millis(0));
    bool get_size(std::string_view key, uint64_t& out, uint64_t min = 1);
    bool get_string_list(std::string_view key, std::vector<std::string>& out);
    // true or false (YAML's plain booleans only: no yes/no/on/off guessing).
    bool get_bool(std::string_view key, bool& out);
    // One of `choices`; the chosen text is stored in `out`.
    bool get_choice(std::string_view key, std::string& out,
                    std::initializer_list<std::string_view> choices);
    bool get_choice(std::string_view key, std::string& out,
                    std::span<const std::string_view> choices);

    // Reports every key never passed to find()/has-style getters, with a suggestion when
    // a known key is spelled nearly the same.
    void finish();

  private:
    struct Entry {
        std::string key;
        YAML::Node key_node;
        YAML::Node value;
        bool known = false;
    };
    Entry* entry(std::string_view key);
    const Entry* entry(std::string_view key) const;

    Diagnostics& diag_;
    std::string where_;
    YAML::Mark mark_;
    bool is_map_ = false;
    std::vector<Entry> entries_;
    std::vector<std::string> asked_;  // every key asked about, for "did you mean"
};

}  // namespace sluice::config
