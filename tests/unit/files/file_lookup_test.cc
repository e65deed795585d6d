// Static file lookup: path cleaning and the rule that nothing outside the root is served,
// tested on a real folder with real symbolic links.
#include "gateway/files/file_lookup.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace sluice::files;
using Kind = Lookup::Kind;

namespace {

// A temporary tree: root/{a.txt, sub/b.txt, sub/index.html, in -> a.txt, out -> ../secret}.
struct Tree {
    fs::path base;
    fs::path root;
    Tree() {
        char tmpl[] = "/tmp/sluice-files-XXXXXX";
        base = mkdtemp(tmpl);
        root = base / "root";
        fs::create_directories(root / "sub");
        write(root / "a.txt", "A");
        write(root / "sub/b.txt", "B");
        write(root / "sub/index.html", "I");
        write(base / "secret", "S");
        fs::create_directories(base / "elsewhere");
        write(base / "elsewhere/c.txt", "C");
        fs::create_symlink(root / "a.txt", root / "in");
        fs::create_symlink(base / "secret", root / "out");
        fs::create_directory_symlink(base / "elsewhere", root / "outdir");
    }
    ~Tree() { fs::remove_all(base); }
    static void write(const fs::path& p, const char* text) { std::ofstream(p) << text; }
    Lookup find(std::string_view rel) { return lookup_file(root.string(), rel, "index.html"); }
};

}  // namespace

TEST_CASE("relative paths are cleaned and dot-dot refused", "[files]") {
    CHECK(clean_relative_path("a/b") == "a/b");
    CHECK(clean_relative_path("/a//b/./c/") == "a/b/c");
    CHECK(clean_relative_path("") == "");
    CHECK(clean_relative_path("%61%2Fb") == "a/b");
    CHECK(clean_relative_path("a%20b") == "a b");
    CHECK(clean_relative_path("..a/b..") == "..a/b..");  // only a whole ".." segment is special
    for (const char* bad : {"..", "a/../b", "a/..", "%2e%2e", "%2E%2e/x", ".%2e", "a%2f..%2fb",
                            "a/%00", "%zz", "a%2", "%"}) {
        INFO(bad);
        CHECK_FALSE(clean_relative_path(bad));
    }
}

TEST_CASE("files inside the root are found", "[files]") {
    Tree t;
    Lookup a = t.find("/a.txt");
    REQUIRE(a.kind == Kind::Found);
    CHECK(a.size == 1);
    CHECK(a.file.fd() >= 0);
    CHECK(a.mtime_sec > 0);
    CHECK(t.find("sub/b.txt").kind == Kind::Found);
    CHECK(t.find("/sub/").kind == Kind::Found);  // its index.html
    CHECK(t.find("/sub/").path == fs::canonical(t.root / "sub/index.html").string());
    CHECK(t.find("/sub").kind == Kind::AddSlash);
    CHECK(t.find("/in").kind == Kind::Found);  // a link that stays inside
    CHECK(t.find("/nope").kind == Kind::NotFound);
    CHECK(t.find("/").kind == Kind::NotFound);  // root has no index.html
}

TEST_CASE("nothing outside the root is served", "[files]") {
    Tree t;
    CHECK(t.find("/../secret").kind == Kind::BadPath);
    CHECK(t.find("/%2e%2e/secret").kind == Kind::BadPath);
    CHECK(t.find("/sub/%2E%2E/%2e%2e/secret").kind == Kind::BadPath);
    CHECK(t.find("/out").kind == Kind::NotFound);           // symlink to a file outside
    CHECK(t.find("/outdir/c.txt").kind == Kind::NotFound);  // symlink to a folder outside
    CHECK(t.find("/outdir/").kind == Kind::NotFound);
}

TEST_CASE("a missing root finds nothing", "[files]") {
    CHECK(lookup_file("/nonexistent/sluice/root", "/a", "index.html").kind == Kind::NotFound);
}

// Issue 9: a file named as a folder is not served (nginx answers 404 too), and a folder
// outside the root is not found rather than redirected (the redirect told it exists).
TEST_CASE("a file named as a folder is not found", "[files]") {
    Tree t;
    for (const char* rel : {"/a.txt/", "/a.txt/.", "/a.txt/./", "/a.txt//", "/a.txt%2F",
                            "/a.txt/%2e", "/sub/b.txt/", "/in/"}) {
        INFO(rel);
        CHECK(t.find(rel).kind == Kind::NotFound);
    }
    CHECK(t.find("/sub/.").kind == Kind::Found);  // a folder named with "." gets its index
    CHECK(t.find("/sub/./").kind == Kind::Found);
    CHECK(t.find("/.").kind == Kind::NotFound);   // root has no index.html
    CHECK(names_folder(""));
    CHECK(names_folder("a/"));
    CHECK(names_folder("a/."));
    CHECK(names_folder("a%2f"));
    CHECK(names_folder("a/%2E"));
    CHECK_FALSE(names_folder("a"));
    CHECK_FALSE(names_folder("a/.b"));
    CHECK_FALSE(names_folder("a/.."));  // refused earlier, by clean_relative_path
}

TEST_CASE("a linked folder outside the root is not found, never redirected", "[files]") {
    Tree t;
    CHECK(t.find("/outdir").kind == Kind::NotFound);
    CHECK(t.find("/outdir/.").kind == Kind::NotFound);
    CHECK(t.find("/sub").kind == Kind::AddSlash);  // inside: still redirected
}
