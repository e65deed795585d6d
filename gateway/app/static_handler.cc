// GET and HEAD on static routes: a file below the route's root (gateway/files decides
// which, and refuses paths that leave the root), with validators (ETag, Last-Modified,
// 304), single byte ranges (206, 416) and a body read in chunks as the client takes them,
// so a large file costs at most one output buffer of memory.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "gateway/app/dispatch.h"
#include "gateway/core/log.h"
#include "gateway/files/file_lookup.h"
#include "gateway/files/http_meta.h"

namespace sluice::app {
namespace {

constexpr size_t kChunkSize = 64 * 1024;

using pipeline::Headers;

// Sends [offset, offset + length) of an open file, reading the next chunk whenever the
// request's output falls below its high watermark.
class FilePump final : public pipeline::Responder {
  public:
    FilePump(pipeline::Request& conn, files::OpenFile file, uint64_t offset, uint64_t length)
        : conn_(conn), file_(std::move(file)), offset_(offset), left_(length) {}

    void start() { pump(); }

    void on_low_water() override { pump(); }
    void on_close() noexcept override { done_ = true; }

  private:
    void pump() {
        while (!done_ && left_ > 0 && conn_.unsent_bytes() < conn_.high_water()) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(kChunkSize, left_));
            std::string buf(n, '\0');
            ssize_t got = pread(file_.fd(), buf.data(), n, static_cast<off_t>(offset_));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {  // a read error, or the file shrank under us
                log::warn("static file read failed",
                          {{"error", got < 0 ? std::strerror(errno) : "file shrank"}});
                done_ = true;
                conn_.close(pipeline::CloseMode::Abort, sse::CloseReason::Error);
                return;
            }
            buf.resize(static_cast<size_t>(got));
            offset_ += static_cast<uint64_t>(got);
            left_ -= static_cast<uint64_t>(got);
            conn_.write(std::move(buf));
        }
        if (!done_ && left_ == 0) {
            done_ = true;
            conn_.end_response();
        }
    }

    pipeline::Request& conn_;
    files::OpenFile file_;
    uint64_t offset_;
    uint64_t left_;
    bool done_ = false;
};

// A relative root is taken from the folder of the config file, so a config and its
// site can move together.
std::string root_folder(const config::Config& cfg, const std::string& root) {
    std::filesystem::path p(root);
    if (p.is_absolute() || cfg.source.empty() || cfg.source.front() == '<') return root;
    return (std::filesystem::path(cfg.source).parent_path() / p).string();
}

}  // namespace

void handle_static(pipeline::Request& conn, const Context& ctx, const router::Match& m) {
    const router::Route& route = *m.route->route;
    const files::StaticOptions& files_cfg = *route.static_files;
    const http::RequestHead& req = conn.head();
    std::string_view rel = req.path;
    if (!route.prefix.empty()) rel.remove_prefix(route.prefix.size());
    std::string root = root_folder(*ctx.runtime->config, files_cfg.root);
    files::Lookup f = files::lookup_file(root, rel, files_cfg.index);
    switch (f.kind) {
    case files::Lookup::Kind::BadPath:
        log::info("static path refused", {{"path", req.path}, {"remote", conn.remote()}});
        conn.respond_error(400, "invalid path");
        return;
    case files::Lookup::Kind::NotFound: conn.respond_error(404, "file not found"); return;
    case files::Lookup::Kind::AddSlash: {
        std::string location = req.path + "/";
        if (!req.query.empty()) location += "?" + req.query;
        conn.respond_error(301, "moved to the folder's address", {{"Location", location}});
        return;
    }
    case files::Lookup::Kind::Found: break;
    }

    std::string etag = files::make_etag(f.mtime_sec, f.mtime_nsec, f.size);
    Headers headers{{"ETag", etag},
                    {"Last-Modified", files::format_http_date(f.mtime_sec)},
                    {"Accept-Ranges", "bytes"}};
    if (files::not_modified(req.header("if-none-match"), req.header("if-modified-since"), etag,
                            f.mtime_sec)) {
        conn.respond(304, "", "", std::move(headers));
        return;
    }
    int status = 200;
    uint64_t offset = 0, length = f.size;
    const std::string* range = req.header("range");
    const std::string* if_range = req.header("if-range");
    if (range && req.method == "GET" &&
        (!if_range || files::if_range_matches(*if_range, etag, f.mtime_sec))) {
        files::RangeDecision d = files::decide_range(*range, f.size);
        if (d.kind == files::RangeDecision::Kind::Unsatisfiable) {
            headers.emplace_back("Content-Range", "bytes */" + std::to_string(f.size));
            conn.respond_error(416, "range not satisfiable", std::move(headers));
            return;
        }
        if (d.kind == files::RangeDecision::Kind::Partial) {
            status = 206;
            offset = d.range.first;
            length = d.range.length();
            headers.emplace_back("Content-Range", "bytes " + std::to_string(d.range.first) + "-" +
                                                      std::to_string(d.range.last) + "/" +
                                                      std::to_string(f.size));
        }
    }
    headers.emplace_back("Content-Length", std::to_string(length));
    headers.insert(headers.begin(), {"Content-Type", std::string(files::content_type_for(f.path))});
    pipeline::ResponseHead head;
    head.status = status;
    head.headers = std::move(headers);
    bool no_body = req.method == "HEAD" || length == 0;
    head.body = no_body ? pipeline::BodyEnd::None : pipeline::BodyEnd::Length;
    auto pump = no_body ? nullptr
                        : std::make_unique<FilePump>(conn, std::move(f.file), offset, length);
    FilePump* p = pump.get();
    if (pump) conn.hand_over(std::move(pump));
    conn.start_response(std::move(head));
    if (p) p->start();
    else conn.end_response();
}

}  // namespace sluice::app
