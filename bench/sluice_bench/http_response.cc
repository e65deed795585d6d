#include "bench/sluice_bench/http_response.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sluice::bench {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

constexpr std::size_t kMaxLine = 4096;  // chunk-size and trailer lines

}  // namespace

void HttpResponseParser::reset() {
    state_ = State::Head;
    head_.clear();
    line_.clear();
    error_.clear();
    headers_.clear();
    status_ = 0;
    remaining_ = 0;
}

std::optional<std::string_view> HttpResponseParser::header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers_)
        if (name == lower_name) return std::string_view(value);
    return std::nullopt;
}

std::size_t HttpResponseParser::fail(std::string msg, std::size_t used) {
    state_ = State::Failed;
    error_ = std::move(msg);
    return used;
}

std::pair<std::size_t, bool> HttpResponseParser::take_line(std::string_view in) {
    std::size_t nl = in.find('\n');
    std::size_t used = nl == std::string_view::npos ? in.size() : nl + 1;
    line_.append(in.substr(0, nl == std::string_view::npos ? in.size() : nl));
    if (nl != std::string_view::npos && !line_.empty() && line_.back() == '\r') line_.pop_back();
    return {used, nl != std::string_view::npos};
}

std::size_t HttpResponseParser::feed_head(std::string_view in) {
    std::size_t before = head_.size();
    head_.append(in);
    // Search only where the terminator could newly appear.
    std::size_t from = before >= 3 ? before - 3 : 0;
    std::size_t end = head_.find("\r\n\r\n", from);
    std::size_t term = 4;
    if (end == std::string::npos) {
        end = head_.find("\n\n", from);  // bare-LF servers exist
        term = 2;
    }
    if (end == std::string::npos) {
        if (head_.size() > max_head_) return fail("response head too large", in.size());
        return in.size();
    }
    std::size_t used = end + term - before;
    head_.resize(end);
    if (!parse_head(head_)) return used;
    head_.clear();
    head_.shrink_to_fit();  // a stream lives long; don't keep the head around
    return used;
}

bool HttpResponseParser::parse_head(std::string_view head) {
    std::size_t eol = head.find('\n');
    std::string_view status_line = trim(head.substr(0, eol));
    if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12 || status_line[8] != ' ') {
        fail("malformed status line", 0);
        return false;
    }
    auto res = std::from_chars(status_line.data() + 9, status_line.data() + 12, status_);
    if (res.ec != std::errc() || res.ptr != status_line.data() + 12 || status_ < 100) {
        fail("malformed status code", 0);
        return false;
    }
    std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 1);
    while (!rest.empty()) {
        std::size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? "" : rest.substr(nl + 1);
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            fail("malformed header line", 0);
            return false;
        }
        headers_.emplace_back(lower(trim(line.substr(0, colon))),
                              std::string(trim(line.substr(colon + 1))));
    }
    auto te = header("transfer-encoding");
    auto cl = header("content-length");
    if (status_ == 204 || status_ == 304 || (status_ >= 100 && status_ < 200)) {
        state_ = State::Done;
    } else if (te && lower(*te).find("chunked") != std::string::npos) {
        state_ = State::ChunkSize;
    } else if (cl) {
        auto r = std::from_chars(cl->data(), cl->data() + cl->size(), remaining_);
        if (r.ec != std::errc() || r.ptr != cl->data() + cl->size()) {
            fail("malformed Content-Length", 0);
            return false;
        }
        state_ = remaining_ == 0 ? State::Done : State::BodyLength;
    } else {
        state_ = State::BodyClose;
    }
    return true;
}

std::size_t HttpResponseParser::feed(std::string_view in, const BodySink& sink) {
    std::size_t used = 0;
    while (used < in.size()) {
        std::string_view rest = in.substr(used);
        switch (state_) {
        case State::Head:
            used += feed_head(rest);
            break;
        case State::BodyClose:
            sink(rest);
            return in.size();
        case State::BodyLength:
        case State::ChunkData: {
            std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(remaining_, rest.size()));
            sink(rest.substr(0, n));
            used += n;
            remaining_ -= n;
            if (remaining_ == 0)
                state_ = state_ == State::BodyLength ? State::Done : State::ChunkDataEnd;
            break;
        }
        case State::ChunkSize:
        case State::ChunkDataEnd:
        case State::Trailers: {
            auto [n, complete] = take_line(rest);
            used += n;
            if (line_.size() > kMaxLine) return fail("chunk framing line too long", used);
            if (!complete) break;
            std::string line = std::move(line_);
            line_.clear();
            if (state_ == State::ChunkDataEnd) {
                if (!line.empty()) return fail("missing CRLF after chunk data", used);
                state_ = State::ChunkSize;
            } else if (state_ == State::Trailers) {
                if (line.empty()) state_ = State::Done;
            } else {
                std::string_view size = trim(std::string_view(line).substr(0, line.find(';')));
                auto r = std::from_chars(size.data(), size.data() + size.size(), remaining_, 16);
                if (size.empty() || r.ec != std::errc() || r.ptr != size.data() + size.size())
                    return fail("malformed chunk size", used);
                state_ = remaining_ == 0 ? State::Trailers : State::ChunkData;
            }
            break;
        }
        case State::Done:
        case State::Failed:
            return used;
        }
        if (state_ == State::Done || state_ == State::Failed) return used;
    }
    return used;
}

void HttpResponseParser::on_eof() {
    if (state_ == State::BodyClose) {
        state_ = State::Done;
    } else if (state_ != State::Done && state_ != State::Failed) {
        fail(state_ == State::Head ? "connection closed before the response head"
                                   : "connection closed inside the response body",
             0);
    }
}

}  // namespace sluice::bench
