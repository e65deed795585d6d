#include "gateway/config/templates.h"

#include <algorithm>

namespace sluice::config {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 pchar without '%' (checked separately): unreserved, sub-delims, ':' and '@'.
bool is_path_char(char c) {
    if (is_alpha(c) || is_digit(c)) return true;
    return std::string_view("-._~!$&'()*+,;=:@").find(c) != std::string_view::npos;
}

bool is_channel_char(char c) {
    return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == ':' || c == '-';
}

std::string show_char(char c) {
    if (c == ' ') return "' ' (space)";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a control character";
    return std::string("'") + c + "'";
}

// Checks one literal path segment, including %XX escapes.
std::string check_literal_segment(std::string_view seg) {
    for (size_t i = 0; i < seg.size(); ++i) {
        char c = seg[i];
        if (c == '%') {
            if (i + 2 >= seg.size() || !is_hex(seg[i + 1]) || !is_hex(seg[i + 2]))
                return "bad percent escape in '" + std::string(seg) + "' (expected %XX)";
            i += 2;
            continue;
        }
        if (c == '?' || c == '#') return "a path cannot contain a query or fragment ('?', '#')";
        if (c == '{' || c == '}') {
            return "a capture must be a whole segment like /{id}/, got '" + std::string(seg) +
                   "'";
        }
        if (!is_path_char(c)) return "invalid character " + show_char(c) + " in path";
    }
    return "";
}

}  // namespace

bool valid_capture_name(std::string_view name) {
    if (name.empty() || !(is_alpha(name[0]) || name[0] == '_')) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

std::string check_path_template(std::string_view text, std::vector<std::string>& captures) {
    captures.clear();
    if (text.empty() || text[0] != '/') return "must start with '/'";
    size_t pos = 1;
    while (pos <= text.size()) {
        size_t end = text.find('/', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view seg = text.substr(pos, end - pos);
        bool last = end == text.size();
        if (seg.empty() && !last) return "empty segment ('//') in path";
        if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
            std::string_view name = seg.substr(1, seg.size() - 2);
            if (!valid_capture_name(name)) {
                return "invalid capture name '" + std::string(name) +
                       "' (use letters, digits and _, like {id})";
            }
            if (std::find(captures.begin(), captures.end(), name) != captures.end())
                return "capture {" + std::string(name) + "} appears twice";
            captures.emplace_back(name);
        } else if (std::string err = check_literal_segment(seg); !err.empty()) {
            return err;
        }
        pos = end + 1;
    }
    return "";
}

std::string check_prefix(std::string_view text) {
    if (text.empty() || text[0] != '/') return "must start with '/'";
    if (text.find('{') != std::string_view::npos || text.find('}') != std::string_view::npos)
        return "a prefix is literal; use 'path' for {captures}";
    size_t pos = 1;
    while (pos <= text.size()) {
        size_t end = text.find('/', pos);
        if (end == std::string_view::npos) end = text.size();
        if (std::string err = check_literal_segment(text.substr(pos, end - pos)); !err.empty())
            return err;
        pos = end + 1;
    }
    return "";
}

std::string check_channel_template(std::string_view text,
                                   std::vector<std::string>& placeholders) {
    placeholders.clear();
    if (text.empty()) return "must not be empty";
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '{') {
            size_t close = text.find('}', i + 1);
            if (close == std::string_view::npos) return "unclosed '{' in channel";
            std::string_view name = text.substr(i + 1, close - i - 1);
            if (!valid_capture_name(name)) {
                return "invalid placeholder name '" + std::string(name) +
                       "' (use letters, digits and _, like {id})";
            }
            // The router refuses a repeated placeholder; saying so here points at the
            // value instead of failing later without a column (found by
            // tests/fuzz/router_fuzz.cc).
            if (std::find(placeholders.begin(), placeholders.end(), name) != placeholders.end()) {
                return "placeholder {" + std::string(name) + "} appears twice";
            }
            placeholders.emplace_back(name);
            i = close;
        } else if (c == '}') {
            return "unmatched '}' in channel";
        } else if (!is_channel_char(c)) {
            return "invalid character " + show_char(c) +
                   " in channel (allowed: letters, digits and _ . : -)";
        }
    }
    return "";
}

}  // namespace sluice::config
