#include "gateway/config/env_vars.h"

#include <cstdlib>

namespace sluice::config {
namespace {

bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

// Deeper than any real config; a YAML alias that contains itself (`a: &d {b: *d}`) is
// endless and would otherwise overflow the stack (found by tests/fuzz/config_fuzz.cc).
constexpr int kMaxDepth = 64;

void expand_node(YAML::Node node, const EnvLookup& lookup, Diagnostics& diag, bool& ok,
                 int depth = 0) {
    if (depth > kMaxDepth) {
        diag.error(node.Mark(), "nested deeper than 64 levels (an alias that contains itself?)");
        ok = false;
        return;
    }
    switch (node.Type()) {
    case YAML::NodeType::Scalar: {
        const std::string& text = node.Scalar();
        if (text.find('$') == std::string::npos) return;
        EnvExpansion r = expand_env(text, lookup);
        if (!r.error.empty()) {
            YAML::Mark at = node.Mark();
            // Point at the "${" when the scalar is plain and on one line (the usual case);
            // a quoted or folded scalar is reported at its start.
            bool plain_one_line = text.find('\n') == std::string::npos && node.Tag() == "?";
            if (plain_one_line && at.column >= 0) at.column += static_cast<int>(r.error_at);
            diag.error(at, r.error);
            ok = false;
            return;
        }
        node = r.text;  // keeps the node's mark: later errors still point at the file
        return;
    }
    case YAML::NodeType::Sequence:
        for (auto item : node) {
            expand_node(item, lookup, diag, ok, depth + 1);
            if (!ok) return;  // one error is enough; an endless alias must not branch on
        }
        return;
    case YAML::NodeType::Map:
        for (auto kv : node) {
            expand_node(kv.second, lookup, diag, ok, depth + 1);
            if (!ok) return;
        }
        return;
    default:
        return;
    }
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
}

EnvExpansion expand_env(std::string_view text, const EnvLookup& lookup) {
    EnvExpansion out;
    size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c != '$') {
            out.text += c;
            ++i;
            continue;
        }
        if (text.substr(i, 3) == "$${") {  // escaped: a literal "${"
            out.text += "${";
            i += 3;
            continue;
        }
        if (i + 1 >= text.size() || text[i + 1] != '{') {
            out.text += c;
            ++i;
            continue;
        }
        size_t start = i;
        size_t p = i + 2;
        size_t name_end = p;
        while (name_end < text.size() && name_char(text[name_end])) ++name_end;
        std::string name(text.substr(p, name_end - p));
        if (name.empty() || !name_start(name[0])) {
            out.error = "invalid variable reference: expected ${NAME} or ${NAME:-default}, "
                        "NAME being letters, digits and '_' (write $${ for a literal ${)";
            out.error_at = start;
            return out;
        }
        std::optional<std::string> fallback;
        p = name_end;
        if (text.substr(p, 2) == ":-") {
            size_t close = text.find('}', p + 2);
            if (close == std::string_view::npos) {
                out.error = "unterminated ${" + name + ":-...}: missing '}'";
                out.error_at = start;
                return out;
            }
            fallback = std::string(text.substr(p + 2, close - p - 2));
            p = close;
        }
        if (p >= text.size() || text[p] != '}') {
            out.error = "invalid reference to ${" + name +
                        "...}: expected '}' or ':-default}' after the variable name";
            out.error_at = start;
            return out;
        }
        std::optional<std::string> value = lookup(name);
        if (fallback && (!value || value->empty())) value = fallback;
        if (!value) {
            out.error = "environment variable " + name +
                        " is not set (set it, or give a default: ${" + name + ":-default})";
            out.error_at = start;
            return out;
        }
        out.text += *value;
        i = p + 1;
    }
    return out;
}

bool expand_env_in_tree(YAML::Node& root, const EnvLookup& lookup, Diagnostics& diag) {
    bool ok = true;
    expand_node(root, lookup, diag, ok);
    return ok;
}

}  // namespace sluice::config
