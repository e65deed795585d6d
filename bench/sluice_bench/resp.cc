#include "bench/sluice_bench/resp.h"

#include <charconv>
#include <cstdint>

namespace sluice::bench {

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
    out.push_back('*');
    out.append(std::to_string(args.size()));
    out.append("\r\n");
    for (std::string_view a : args) {
        out.push_back('$');
        out.append(std::to_string(a.size()));
        out.append("\r\n");
        out.append(a);
        out.append("\r\n");
    }
}

std::size_t RespReader::skip_reply(std::size_t pos, int depth) const {
    if (depth > 16) return kInvalid;
    if (pos >= buf_.size()) return kIncomplete;
    std::size_t eol = buf_.find("\r\n", pos);
    if (eol == std::string::npos) return kIncomplete;
    char type = buf_[pos];
    std::string_view line(buf_.data() + pos + 1, eol - pos - 1);
    std::size_t next = eol + 2;
    switch (type) {
    case '+':
    case '-':
    case ':':
        return next;
    case '$':
    case '*': {
        int64_t n = 0;
        auto r = std::from_chars(line.data(), line.data() + line.size(), n);
        if (r.ec != std::errc() || r.ptr != line.data() + line.size() || n < -1) return kInvalid;
        if (n == -1) return next;  // null bulk string or null array
        if (type == '$') {
            std::size_t end = next + static_cast<std::size_t>(n) + 2;
            if (end > buf_.size()) return kIncomplete;
            if (buf_.compare(end - 2, 2, "\r\n") != 0) return kInvalid;
            return end;
        }
        for (int64_t i = 0; i < n; ++i) {
            next = skip_reply(next, depth + 1);
            if (next == kIncomplete || next == kInvalid) return next;
        }
        return next;
    }
    default:
        return kInvalid;
    }
}

bool RespReader::feed(std::string_view in, const ReplyFn& on_reply) {
    if (failed_) return false;
    buf_.append(in);
    std::size_t pos = 0;
    while (pos < buf_.size()) {
        std::size_t end = skip_reply(pos, 0);
        if (end == kIncomplete) break;
        if (end == kInvalid) {
            failed_ = true;
            return false;
        }
        char type = buf_[pos];
        std::string_view text;
        if (type == '+' || type == '-' || type == ':')
            text = std::string_view(buf_.data() + pos + 1, end - pos - 3);
        on_reply(type == '-', text);
        pos = end;
    }
    buf_.erase(0, pos);
    return true;
}

}  // namespace sluice::bench
