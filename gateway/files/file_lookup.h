// Maps the path of a request on a `static` route to a file under the route's root, and
// refuses anything that would leave it: ".." segments (also percent-encoded, %2e%2e), NUL
// bytes, and symbolic links whose target lies outside the root. Blocking file-system calls
// (realpath, open, fstat), as nginx makes them; nothing here touches libuv.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::files {

// Percent-decodes `encoded` and returns its segments joined by '/', with empty and "."
// segments dropped: "a//b/./c" -> "a/b/c", "" -> "". nullopt for a ".." segment, a NUL
// byte or a malformed escape.
std::optional<std::string> clean_relative_path(std::string_view encoded);

// True when the last segment of `encoded`, percent-decoded, is empty or ".": the path
// names a folder ("", "a/", "a/.", "a%2F"), so it never names a regular file.
bool names_folder(std::string_view encoded);

// An open regular file: closes its descriptor when destroyed.
class OpenFile {
  public:
    OpenFile() = default;
    explicit OpenFile(int fd) : fd_(fd) {}
    ~OpenFile();
    OpenFile(OpenFile&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    OpenFile& operator=(OpenFile&& o) noexcept;
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
};

struct Lookup {
    enum class Kind {
        Found,     // file, size, mtime set
        NotFound,  // no such file (or one outside the root, or not a regular file)
        BadPath,   // ".." or other input that can never name a file: 400
        AddSlash,  // a folder named without its trailing '/': redirect to add it
    };
    Kind kind = Kind::NotFound;
    OpenFile file;
    std::string path;  // the real path of the file
    uint64_t size = 0;
    int64_t mtime_sec = 0;
    int64_t mtime_nsec = 0;
};

// `root` is the route's folder; `encoded_rel` the request path below the route, still
// percent-encoded; `index` the file served for a folder.
Lookup lookup_file(const std::string& root, std::string_view encoded_rel, const std::string& index);

}  // namespace sluice::files
