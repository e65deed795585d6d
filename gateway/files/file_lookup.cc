// Path cleaning and the containment check for static files. The check is made on real
// paths (every symlink resolved) so that a link inside the root cannot expose a file
// outside it, and the file is then opened by that real path and described by fstat on
// the open descriptor.
#include "gateway/files/file_lookup.h"

#include "gateway/core/percent.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <memory>

namespace sluice::files {

namespace {


std::optional<std::string> real_path(const std::string& p) {
    std::unique_ptr<char, decltype(&std::free)> r(realpath(p.c_str(), nullptr), &std::free);
    if (!r) return std::nullopt;
    return std::string(r.get());
}

bool inside(const std::string& real, const std::string& root) {
    if (real == root) return true;
    if (root == "/") return true;
    return real.size() > root.size() && real.compare(0, root.size(), root) == 0 &&
           real[root.size()] == '/';
}

}  // namespace

OpenFile::~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
}

OpenFile& OpenFile::operator=(OpenFile&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

std::optional<std::string> clean_relative_path(std::string_view encoded) {
    std::string out;
    std::string segment;
    auto flush_segment = [&]() -> bool {
        if (segment == "..") return false;
        if (!segment.empty() && segment != ".") {
            if (!out.empty()) out += '/';
            out += segment;
        }
        segment.clear();
        return true;
    };
    for (size_t i = 0; i < encoded.size(); ++i) {
        char c = encoded[i];
        if (c == '%') {
            if (i + 2 >= encoded.size()) return std::nullopt;
            int hi = hex_digit(encoded[i + 1]);
            int lo = hex_digit(encoded[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') return std::nullopt;
        // An encoded slash (%2F) separates segments too: it can never hide a "..".
        if (c == '/') {
            if (!flush_segment()) return std::nullopt;
            continue;
        }
        segment += c;
    }
    if (!flush_segment()) return std::nullopt;
    return out;
}

bool names_folder(std::string_view encoded) {
    std::string last;  // the decoded last segment
    for (size_t i = 0; i < encoded.size(); ++i) {
        char c = encoded[i];
        if (c == '%' && i + 2 < encoded.size()) {
            int hi = hex_digit(encoded[i + 1]);
            int lo = hex_digit(encoded[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = static_cast<char>(hi * 16 + lo);
                i += 2;
            }
        }
        if (c == '/') last.clear();
        else last += c;
    }
    return last.empty() || last == ".";
}

Lookup lookup_file(const std::string& root, std::string_view encoded_rel,
                   const std::string& index) {
    Lookup out;
    auto rel = clean_relative_path(encoded_rel);
    if (!rel) {
        out.kind = Lookup::Kind::BadPath;
        return out;
    }
    auto root_real = real_path(root);
    if (!root_real) return out;  // NotFound: the folder is missing
    std::string candidate = *root_real;
    if (!rel->empty()) candidate += "/" + *rel;
    struct stat st {};
    if (stat(candidate.c_str(), &st) != 0) return out;
    // Containment first: a folder outside the root is not found, and the redirect that
    // adds its slash would tell that it exists (#9).
    auto real = real_path(candidate);
    if (!real || !inside(*real, *root_real)) return out;
    bool as_folder = names_folder(encoded_rel);
    if (S_ISDIR(st.st_mode)) {
        if (!as_folder) {
            out.kind = Lookup::Kind::AddSlash;
            return out;
        }
        real = real_path(*real + "/" + index);
        if (!real || !inside(*real, *root_real)) return out;
    } else if (as_folder) {
        return out;  // "index.html/" or "index.html/.": a file is not a folder (as nginx)
    }
    int fd = ::open(real->c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return out;
    OpenFile file(fd);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return out;
    out.kind = Lookup::Kind::Found;
    out.file = std::move(file);
    out.path = std::move(*real);
    out.size = static_cast<uint64_t>(st.st_size);
    out.mtime_sec = static_cast<int64_t>(st.st_mtim.tv_sec);
    out.mtime_nsec = static_cast<int64_t>(st.st_mtim.tv_nsec);
    return out;
}

}  // namespace sluice::files
