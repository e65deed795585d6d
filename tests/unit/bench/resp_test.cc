#include "bench/sluice_bench/resp.h"

#include <catch2/catch.hpp>

#include <utility>
#include <vector>

using sluice::bench::append_command;
using sluice::bench::RespReader;

namespace {

struct Replies {
    std::vector<std::pair<bool, std::string>> got;
    RespReader::ReplyFn fn() {
        return [this](bool err, std::string_view text) {
            got.emplace_back(err, std::string(text));
        };
    }
};

}  // namespace

TEST_CASE("resp: commands are arrays of bulk strings", "[bench][resp]") {
    std::string out;
    append_command(out, {"PUBLISH", "bench:1", "{\"a\":1}"});
    CHECK(out == "*3\r\n$7\r\nPUBLISH\r\n$7\r\nbench:1\r\n$7\r\n{\"a\":1}\r\n");
}

TEST_CASE("resp: replies are delivered one by one, split anywhere", "[bench][resp]") {
    std::string in = ":1\r\n-ERR no such function\r\n+OK\r\n$3\r\nabc\r\n$-1\r\n"
                     "*2\r\n:5\r\n*1\r\n$1\r\nx\r\n:7\r\n";
    RespReader r;
    Replies rep;
    auto fn = rep.fn();
    for (char c : in) REQUIRE(r.feed(std::string_view(&c, 1), fn));
    REQUIRE(rep.got.size() == 7);
    CHECK(rep.got[0] == std::make_pair(false, std::string("1")));
    CHECK(rep.got[1] == std::make_pair(true, std::string("ERR no such function")));
    CHECK(rep.got[2] == std::make_pair(false, std::string("OK")));
    CHECK(rep.got[6] == std::make_pair(false, std::string("7")));
}

TEST_CASE("resp: garbage fails the reader", "[bench][resp]") {
    RespReader r;
    Replies rep;
    CHECK_FALSE(r.feed("?what\r\n", rep.fn()));
    CHECK(r.failed());
}
