#include "gateway/sse/json_type.h"

#include "gateway/core/percent.h"
#include "gateway/core/utf8.h"

namespace sluice::sse {
namespace {

constexpr int kMaxDepth = 512;

class Scanner {
  public:
    explicit Scanner(std::string_view s) : s_(s) {}

    std::optional<std::string> top_level_type() {
        skip_ws();
        if (!peek('{')) return std::nullopt;
        std::optional<std::string> type;
        if (!object(0, &type)) return std::nullopt;
        skip_ws();
        if (i_ != s_.size()) return std::nullopt;
        return type;
    }

  private:
    bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
    void skip_ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        return true;
    }

    // Top-level object: `type` (when non-null) receives the last string "type" member,
    // or is reset when the last "type" member is not a string.
    bool object(int depth, std::optional<std::string>* type) {
        if (depth > kMaxDepth) return false;
        ++i_;  // '{'
        skip_ws();
        if (peek('}')) {
            ++i_;
            return true;
        }
        for (;;) {
            skip_ws();
            std::string key;
            if (!string(type ? &key : nullptr)) return false;
            skip_ws();
            if (!peek(':')) return false;
            ++i_;
            skip_ws();
            if (type && key == "type") {
                std::string value;
                if (peek('"')) {
                    if (!string(&value)) return false;
                    *type = std::move(value);
                } else {
                    if (!any_value(depth + 1)) return false;
                    type->reset();
                }
            } else if (!any_value(depth + 1)) {
                return false;
            }
            skip_ws();
            if (peek(',')) {
                ++i_;
                continue;
            }
            if (peek('}')) {
                ++i_;
                return true;
            }
            return false;
        }
    }

    bool array(int depth) {
        if (depth > kMaxDepth) return false;
        ++i_;  // '['
        skip_ws();
        if (peek(']')) {
            ++i_;
            return true;
        }
        for (;;) {
            skip_ws();
            if (!any_value(depth + 1)) return false;
            skip_ws();
            if (peek(',')) {
                ++i_;
                continue;
            }
            if (peek(']')) {
                ++i_;
                return true;
            }
            return false;
        }
    }

    bool any_value(int depth) {
        if (i_ >= s_.size()) return false;
        switch (s_[i_]) {
        case '{': return object(depth, nullptr);
        case '[': return array(depth);
        case '"': return string(nullptr);
        case 't': return literal("true");
        case 'f': return literal("false");
        case 'n': return literal("null");
        default: return number();
        }
    }

    bool digits() {
        size_t start = i_;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        return i_ > start;
    }

    bool number() {
        if (peek('-')) ++i_;
        if (peek('0')) ++i_;
        else if (!digits()) return false;
        if (peek('.')) {
            ++i_;
            if (!digits()) return false;
        }
        if (peek('e') || peek('E')) {
            ++i_;
            if (peek('+') || peek('-')) ++i_;
            if (!digits()) return false;
        }
        return true;
    }

    static void append_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    bool hex4(uint32_t* out) {
        if (s_.size() - i_ < 4) return false;
        uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            int d = hex_digit(s_[i_ + k]);
            if (d < 0) return false;
            v = v * 16 + static_cast<uint32_t>(d);
        }
        i_ += 4;
        *out = v;
        return true;
    }

    // A string; decoded into *out when out is non-null (keys and the type value only).
    bool string(std::string* out) {
        if (!peek('"')) return false;
        ++i_;
        while (i_ < s_.size()) {
            char c = s_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                if (out) *out += c;
                continue;
            }
            if (i_ >= s_.size()) return false;
            char e = s_[i_++];
            char plain = 0;
            switch (e) {
            case '"': plain = '"'; break;
            case '\\': plain = '\\'; break;
            case '/': plain = '/'; break;
            case 'b': plain = '\b'; break;
            case 'f': plain = '\f'; break;
            case 'n': plain = '\n'; break;
            case 'r': plain = '\r'; break;
            case 't': plain = '\t'; break;
            case 'u': {
                uint32_t cp = 0;
                if (!hex4(&cp)) return false;
                if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate needs its low half
                    uint32_t lo = 0;
                    if (s_.substr(i_, 2) != "\\u") return false;
                    i_ += 2;
                    if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return false;  // a lone low surrogate
                }
                if (out) append_utf8(*out, cp);
                continue;
            }
            default: return false;
            }
            if (out) *out += plain;
        }
        return false;  // unterminated
    }

    std::string_view s_;
    size_t i_ = 0;
};

}  // namespace

std::optional<std::string> json_top_level_type(std::string_view payload) {
    // Cheap rejections first: most payloads that are not JSON objects end here.
    size_t first = payload.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || payload[first] != '{') return std::nullopt;
    if (!valid_utf8(payload)) return std::nullopt;
    return Scanner(payload).top_level_type();
}

}  // namespace sluice::sse
