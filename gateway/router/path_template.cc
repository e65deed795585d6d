// Path and channel templates. Neither uses std::regex: matching runs per request (paths)
// and per published channel (fits), so it is a plain scan over the pieces.
#include "gateway/router/path_template.h"

#include <algorithm>

#include "gateway/core/percent.h"

namespace sluice::router {

namespace {

constexpr size_t kMaxChannelValue = 128;

bool is_channel_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == ':' || c == '-';
}

bool valid_name(std::string_view name) {
    if (name.empty()) return false;
    auto alpha = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    };
    if (!alpha(name[0])) return false;
    return std::all_of(name.begin() + 1, name.end(),
                       [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

void set_error(std::string* error, std::string msg) {
    if (error) *error = std::move(msg);
}

}  // namespace

bool valid_channel_value(std::string_view value) {
    return !value.empty() && value.size() <= kMaxChannelValue &&
           std::all_of(value.begin(), value.end(), is_channel_char);
}

// ---- PathTemplate -------------------------------------------------------------------------

std::optional<PathTemplate> PathTemplate::parse(std::string_view text, std::string* error) {
    if (text.empty() || text[0] != '/') {
        set_error(error, "path template must start with '/'");
        return std::nullopt;
    }
    PathTemplate t;
    std::string_view rest = text.substr(1);
    while (true) {
        size_t slash = rest.find('/');
        std::string_view seg = rest.substr(0, slash);
        Segment s;
        if (!seg.empty() && seg.front() == '{' && seg.back() == '}') {
            std::string_view name = seg.substr(1, seg.size() - 2);
            if (!valid_name(name)) {
                set_error(error, "bad capture name '{" + std::string(name) + "}' in path template");
                return std::nullopt;
            }
            if (std::find(t.names_.begin(), t.names_.end(), name) != t.names_.end()) {
                set_error(error, "capture {" + std::string(name) + "} appears twice");
                return std::nullopt;
            }
            s.capture = true;
            t.names_.emplace_back(name);
        } else if (seg.find_first_of("{}") != std::string_view::npos) {
            set_error(error, "a capture must be a whole path segment: '" + std::string(seg) + "'");
            return std::nullopt;
        }
        s.text = std::string(s.capture ? seg.substr(1, seg.size() - 2) : seg);
        t.segments_.push_back(std::move(s));
        if (slash == std::string_view::npos) break;
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
        set_error(error, "channel template is empty");
        return std::nullopt;
    }
    ChannelTemplate t;
    t.text_ = std::string(text);
    size_t i = 0;
    while (i < text.size()) {
        size_t open = text.find_first_of("{}", i);
        if (open == std::string_view::npos) open = text.size();
        if (open > i) t.pieces_.push_back({false, std::string(text.substr(i, open - i))});
        if (open == text.size()) break;
        if (text[open] == '}') {
            set_error(error, "unmatched '}' in channel template");
            return std::nullopt;
        }
        size_t close = text.find('}', open);
        if (close == std::string_view::npos) {
            set_error(error, "unclosed '{' in channel template");
            return std::nullopt;
        }
        std::string_view name = text.substr(open + 1, close - open - 1);
        if (!valid_name(name)) {
            set_error(error, "bad placeholder name '{" + std::string(name) + "}' in channel");
            return std::nullopt;
        }
        // A repeated placeholder would make fits() need back-references; nobody needs it.
        if (std::find(t.names_.begin(), t.names_.end(), name) != t.names_.end()) {
            set_error(error, "placeholder {" + std::string(name) + "} appears twice");
            return std::nullopt;
        }
        t.names_.emplace_back(name);
        t.pieces_.push_back({true, std::string(name)});
        i = close + 1;
    }
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

std::string ChannelTemplate::redis_pattern() const {
    std::string out;
    for (const Piece& p : pieces_) {
        if (p.placeholder) {
            out.push_back('*');
            continue;
        }
        for (char c : p.text) {
            if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace sluice::router
