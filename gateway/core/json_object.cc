#include "gateway/core/json_object.h"

#include <charconv>
#include <cmath>

#include "gateway/core/utf8.h"

namespace sluice::json {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

void append_escaped_byte(std::string& out, unsigned char c) {
    switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    default: break;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
}

bool needs_escape(unsigned char c) {
    return c < 0x20 || c == '"' || c == '\\' || c == 0x7F;
}

} // namespace

void append_string(std::string& out, std::string_view s) {
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    size_t i = 0, n = s.size();
    while (i < n) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            // DEL is valid JSON but escaped too: a log line should not carry terminal
            // control bytes.
            if (needs_escape(c))
                append_escaped_byte(out, c);
            else
                out += static_cast<char>(c);
            ++i;
            continue;
        }
        size_t len = utf8_sequence_length(s, i);
        if (len == 0) {
            out += kReplacement;
            ++i;
        } else {
            out.append(s.data() + i, len);
            i += len;
        }
    }
    out += '"';
}

void Value::write(std::string& out) const {
    char buf[32];
    switch (kind_) {
    case Kind::String: append_string(out, str_); return;
    case Kind::Bool: out += b_ ? "true" : "false"; return;
    case Kind::Int: {
        auto r = std::to_chars(buf, buf + sizeof buf, i_);
        out.append(buf, r.ptr);
        return;
    }
    case Kind::Uint: {
        auto r = std::to_chars(buf, buf + sizeof buf, u_);
        out.append(buf, r.ptr);
        return;
    }
    case Kind::Double: {
        if (!std::isfinite(d_)) { // JSON has no NaN or infinity
            out += "null";
            return;
        }
        auto r = std::to_chars(buf, buf + sizeof buf, d_); // shortest round-trip form
        out.append(buf, r.ptr);
        return;
    }
    }
}

JsonObject& JsonObject::add(std::string_view key, const Value& value) {
    if (out_.size() > 1) out_ += ',';
    append_string(out_, key);
    out_ += ':';
    value.write(out_);
    return *this;
}

JsonObject& JsonObject::add(Fields fields) {
    for (const Field& f : fields)
        add(f.key, f.value);
    return *this;
}

std::string JsonObject::str() {
    out_ += '}';
    return std::move(out_);
}

} // namespace sluice::json
