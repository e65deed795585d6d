#include "bench/sluice_bench/sse_parser.h"

namespace sluice::bench {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

std::string_view SseParser::skip_bom(std::string_view chunk) {
    // The BOM may itself arrive split across chunks, so match it byte by byte.
    while (!chunk.empty() && bom_matched_ < static_cast<int>(kBom.size())) {
        if (chunk[0] != kBom[static_cast<std::size_t>(bom_matched_)]) {
            // Not a BOM after all: the bytes matched so far are ordinary text.
            line_.append(kBom.substr(0, static_cast<std::size_t>(bom_matched_)));
            bom_done_ = true;
            return chunk;
        }
        ++bom_matched_;
        chunk.remove_prefix(1);
    }
    if (bom_matched_ == static_cast<int>(kBom.size())) bom_done_ = true;
    return chunk;
}

bool SseParser::feed(std::string_view chunk, SseHandler& handler) {
    if (failed_) return false;
    if (!bom_done_) {
        chunk = skip_bom(chunk);
        if (!bom_done_) return true;
    }
    while (!chunk.empty()) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (chunk[0] == '\n') {
                chunk.remove_prefix(1);
                continue;
            }
        }
        std::size_t end = chunk.find_first_of("\r\n");
        if (end == std::string_view::npos) {
            if (line_.size() + chunk.size() > max_buffer_) {
                failed_ = true;
                return false;
            }
            line_.append(chunk);
            return true;
        }
        std::string_view line = chunk.substr(0, end);
        if (!line_.empty()) {
            line_.append(line);
            line = line_;
        }
        std::size_t used = end + 1;
        if (chunk[end] == '\r') {
            if (end + 1 < chunk.size()) {
                if (chunk[end + 1] == '\n') ++used;
            } else {
                skip_lf_ = true;
            }
        }
        chunk.remove_prefix(used);
        process_line(line, handler);
        line_.clear();
        if (data_.size() > max_buffer_) {
            failed_ = true;
            return false;
        }
    }
    return true;
}

void SseParser::process_line(std::string_view line, SseHandler& handler) {
    if (line.empty()) {
        dispatch(handler);
        return;
    }
    if (line[0] == ':') {
        handler.on_comment(line.substr(1));
        return;
    }
    std::string_view field = line;
    std::string_view value;
    if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
        field = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "event") {
        type_.assign(value);
    } else if (field == "data") {
        data_.append(value);
        data_.push_back('\n');
    } else if (field == "id") {
        // An id containing NUL is ignored, so a server cannot poison Last-Event-ID.
        if (value.find('\0') == std::string_view::npos) id_buffer_.assign(value);
    } else if (field == "retry") {
        if (all_digits(value) && value.size() <= 18) {
            uint64_t ms = 0;
            for (char c : value) ms = ms * 10 + static_cast<uint64_t>(c - '0');
            handler.on_retry(ms);
        }
    }
    // Any other field is ignored.
}

void SseParser::dispatch(SseHandler& handler) {
    last_id_ = id_buffer_;
    if (data_.empty()) {
        type_.clear();
        return;
    }
    data_.pop_back();  // the '\n' after the last data line
    SseEvent ev{type_.empty() ? std::string_view("message") : std::string_view(type_), data_,
                last_id_};
    handler.on_event(ev);
    data_.clear();
    type_.clear();
}

void SseParser::restart() {
    line_.clear();
    data_.clear();
    type_.clear();
    id_buffer_ = last_id_;
    bom_matched_ = 0;
    bom_done_ = false;
    skip_lf_ = false;
    failed_ = false;
}

}  // namespace sluice::bench
