// Path and channel templates. Neither uses std::regex: matching runs per request (paths)
// and per published channel (fits), so it is a plain scan over the pieces.
#include "gateway/router/path_template.h"

#include <algorithm>

#include "gateway/core/ascii.h"
#include "gateway/core/percent.h"

namespace sluice::router {

namespace {

constexpr size_t kMaxChannelValue = 128;

bool is_channel_char(char c) {
    return ascii_is_alnum(c) || c == '_' || c == '.' || c == ':' || c == '-';
}

// RFC 3986 pchar without '%' (checked separately): unreserved, sub-delims, ':' and '@'.
bool is_path_char(char c) {
    return ascii_is_alnum(c) || std::string_view("-._~!$&'()*+,;=:@").find(c) != std::string_view::npos;
}

std::string show_char(char c) {
    if (c == ' ') return "' ' (space)";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a control character";
    return std::string("'") + c + "'";
}

// Checks one literal path segment, including %XX escapes; "" when valid.
std::string check_literal_segment(std::string_view seg) {
    for (size_t i = 0; i < seg.size(); ++i) {
        char c = seg[i];
        if (c == '%') {
            if (i + 2 >= seg.size() || !ascii_is_hex_digit(seg[i + 1]) ||
                !ascii_is_hex_digit(seg[i + 2]))
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

void set_error(std::string* error, std::string msg) {
    if (error) *error = std::move(msg);
}

}  // namespace

bool valid_channel_value(std::string_view value) {
    return !value.empty() && value.size() <= kMaxChannelValue &&
           std::all_of(value.begin(), value.end(), is_channel_char);
}

bool valid_capture_name(std::string_view name) {
    if (name.empty() || !(ascii_is_alpha(name[0]) || name[0] == '_')) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return ascii_is_alnum(c) || c == '_'; });
}

std::string check_prefix(std::string_view text) {
    if (text.empty() || text[0] != '/') return "must start with '/'";
    if (text.find_first_of("{}") != std::string_view::npos)
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

// ---- PathTemplate -------------------------------------------------------------------------

std::optional<PathTemplate> PathTemplate::parse(std::string_view text, std::string* error) {
    if (text.empty() || text[0] != '/') {
        set_error(error, "must start with '/'");
        return std::nullopt;
    }
    PathTemplate t;
    std::string_view rest = text.substr(1);
    while (true) {
        size_t slash = rest.find('/');
        std::string_view seg = rest.substr(0, slash);
        bool last = slash == std::string_view::npos;
        if (seg.empty() && !last) {
            set_error(error, "empty segment ('//') in path");
            return std::nullopt;
        }
        Segment s;
        if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
            std::string_view name = seg.substr(1, seg.size() - 2);
            if (!valid_capture_name(name)) {
                set_error(error, "invalid capture name '" + std::string(name) +
                                     "' (use letters, digits and _, like {id})");
                return std::nullopt;
            }
            if (std::find(t.names_.begin(), t.names_.end(), name) != t.names_.end()) {
                set_error(error, "capture {" + std::string(name) + "} appears twice");
                return std::nullopt;
            }
            s.capture = true;
            t.names_.emplace_back(name);
        } else if (std::string err = check_literal_segment(seg); !err.empty()) {
            set_error(error, std::move(err));
            return std::nullopt;
        }
        s.text = std::string(s.capture ? seg.substr(1, seg.size() - 2) : seg);
        t.segments_.push_back(std::move(s));
        if (last) break;
        rest = rest.substr(slash + 1);
    }
    return t;
}

bool PathTemplate::match(std::string_view raw_path, Captures& out) const {
    out.clear();
    if (raw_path.empty() || raw_path[0] != '/') return false;
    Captures caps;
    std::string_view rest = raw_path.substr(1);
    for (size_t i = 0; i < segments_.size(); ++i) {
        size_t slash = rest.find('/');
        bool last = i + 1 == segments_.size();
        // The last template segment must consume the rest exactly; others need a '/' after.
        if (last != (slash == std::string_view::npos)) return false;
        std::string_view seg = rest.substr(0, slash);
        const Segment& s = segments_[i];
        if (s.capture) {
            if (seg.empty()) return false;
            auto decoded = percent_decode(seg);
            if (!decoded) return false;
            caps.emplace_back(s.text, std::move(*decoded));
        } else if (seg != s.text) {
            return false;
        }
        if (!last) rest = rest.substr(slash + 1);
    }
    out = std::move(caps);
    return true;
}

// ---- ChannelTemplate ----------------------------------------------------------------------

std::optional<ChannelTemplate> ChannelTemplate::parse(std::string_view text, std::string* error) {
    if (text.empty()) {
        set_error(error, "must not be empty");
        return std::nullopt;
    }
    ChannelTemplate t;
    t.text_ = std::string(text);
    std::string literal;
    auto end_literal = [&] {
        if (!literal.empty()) t.pieces_.push_back({false, std::move(literal)});
        literal.clear();
    };
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '{') {
            size_t close = text.find('}', i + 1);
            if (close == std::string_view::npos) {
                set_error(error, "unclosed '{' in channel");
                return std::nullopt;
            }
            std::string_view name = text.substr(i + 1, close - i - 1);
            if (!valid_capture_name(name)) {
                set_error(error, "invalid placeholder name '" + std::string(name) +
                                     "' (use letters, digits and _, like {id})");
                return std::nullopt;
            }
            // A repeated placeholder would make fits() need back-references; nobody needs it.
            if (std::find(t.names_.begin(), t.names_.end(), name) != t.names_.end()) {
                set_error(error, "placeholder {" + std::string(name) + "} appears twice");
                return std::nullopt;
            }
            end_literal();
            t.names_.emplace_back(name);
            t.pieces_.push_back({true, std::string(name)});
            i = close;
        } else if (c == '}') {
            set_error(error, "unmatched '}' in channel");
            return std::nullopt;
        } else if (!is_channel_char(c)) {
            set_error(error, "invalid character " + show_char(c) +
                                 " in channel (allowed: letters, digits and _ . : -)");
            return std::nullopt;
        } else {
            literal += c;
        }
    }
    end_literal();
    return t;
}

std::optional<std::string> ChannelTemplate::expand(const Captures& captures,
                                                   ExpandError* err) const {
    auto fail = [&](ExpandError e) -> std::optional<std::string> {
        if (err) *err = e;
        return std::nullopt;
    };
    std::string out;
    for (const Piece& p : pieces_) {
        if (!p.placeholder) {
            out += p.text;
            continue;
        }
        auto it = std::find_if(captures.begin(), captures.end(),
                               [&](const auto& c) { return c.first == p.text; });
        if (it == captures.end()) return fail(ExpandError::MissingCapture);
        if (!valid_channel_value(it->second)) return fail(ExpandError::InvalidValue);
        out += it->second;
    }
    if (err) *err = ExpandError::None;
    return out;
}

bool ChannelTemplate::fits(std::string_view channel) const {
    // reach[q]: the pieces seen so far can consume exactly channel[0, q). One pass per
    // piece keeps this linear in the channel length for each piece (no backtracking blowup).
    const size_t n = channel.size();
    std::vector<char> reach(n + 1, 0), next(n + 1, 0);
    reach[0] = 1;
    for (const Piece& p : pieces_) {
        std::fill(next.begin(), next.end(), 0);
        if (!p.placeholder) {
            const size_t len = p.text.size();
            for (size_t q = len; q <= n; ++q)
                next[q] = reach[q - len] && channel.substr(q - len, len) == p.text;
        } else {
            // open: some reachable start p' < q has channel[p', q) all channel chars.
            bool open = false;
            for (size_t q = 1; q <= n; ++q) {
                if (!is_channel_char(channel[q - 1]))
                    open = false;
                else if (reach[q - 1])
                    open = true;
                next[q] = open;
            }
        }
        reach.swap(next);
    }
    return reach[n] != 0;
}

}  // namespace sluice::router
