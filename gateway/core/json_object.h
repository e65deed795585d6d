// The one way sluice writes JSON objects (log lines, the access log, error bodies): typed
// fields appended to a builder whose output is always one valid UTF-8 JSON object,
// whatever bytes the values hold. Bytes that are not UTF-8 become U+FFFD (one per byte),
// control characters are escaped, a non-finite double is written as null.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace sluice::json {

// A field value: a string or a number or a bool, kept by type so the JSON says which.
// Strings are viewed, not copied: a Value lives only as long as the call it is passed to.
class Value {
  public:
    enum class Kind { String, Int, Uint, Double, Bool };

    Value(std::string_view s) : kind_(Kind::String), str_(s) {}
    Value(const std::string& s) : kind_(Kind::String), str_(s) {}
    Value(const char* s) : kind_(Kind::String), str_(s) {}
    Value(bool b) : kind_(Kind::Bool), b_(b) {}
    Value(double d) : kind_(Kind::Double), d_(d) {}
    template <std::signed_integral T>
    requires(!std::same_as<T, char>) Value(T v) : kind_(Kind::Int), i_(v) {}
    template <std::unsigned_integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>) Value(T v)
        : kind_(Kind::Uint), u_(v) {}

    Kind kind() const { return kind_; }
    // Appends the JSON text of the value.
    void write(std::string& out) const;

  private:
    Kind kind_;
    std::string_view str_;
    union {
        int64_t i_;
        uint64_t u_ = 0;
        double d_;
        bool b_;
    };
};

struct Field {
    std::string_view key;
    Value value;
};
using Fields = std::initializer_list<Field>;

// Appends s as a quoted JSON string (escaped, invalid UTF-8 replaced).
void append_string(std::string& out, std::string_view s);

// Builds one object: JsonObject().add("a", 1).add("b", "x").str() == {"a":1,"b":"x"}.
// Keys are escaped like values; the caller keeps them unique.
class JsonObject {
  public:
    JsonObject() { out_ += '{'; }
    JsonObject& add(std::string_view key, const Value& value);
    JsonObject& add(Fields fields);
    // Closes the object and hands its text over (the builder is empty afterwards).
    std::string str();

  private:
    std::string out_;
};

} // namespace sluice::json
