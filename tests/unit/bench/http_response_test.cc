#include "bench/sluice_bench/http_response.h"

#include <catch2/catch.hpp>

using sluice::bench::HttpResponseParser;

namespace {

struct Body {
    std::string bytes;
    HttpResponseParser::BodySink sink() {
        return [this](std::string_view b) { bytes.append(b); };
    }
};

}  // namespace

TEST_CASE("http response: an event stream body runs until EOF", "[bench][http_response]") {
    HttpResponseParser p;
    Body b;
    auto sink = b.sink();
    std::string in = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     "Cache-Control: no-cache\r\n\r\nretry: 2000\n\n";
    CHECK(p.feed(in, sink) == in.size());
    CHECK(p.head_complete());
    CHECK(p.status() == 200);
    CHECK(p.header("content-type") == std::optional<std::string_view>("text/event-stream"));
    CHECK(b.bytes == "retry: 2000\n\n");
    CHECK_FALSE(p.done());
    p.on_eof();
    CHECK(p.done());
}

TEST_CASE("http response: head split byte by byte", "[bench][http_response]") {
    HttpResponseParser p;
    Body b;
    auto sink = b.sink();
    std::string in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    for (char c : in) CHECK(p.feed(std::string_view(&c, 1), sink) == 1);
    CHECK(p.done());
    CHECK(b.bytes == "hello");
}

TEST_CASE("http response: Content-Length stops at the end of the message",
          "[bench][http_response]") {
    HttpResponseParser p;
    Body b;
    auto sink = b.sink();
    std::string first = "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"position\":1}";
    std::string in = first + "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    std::size_t used = p.feed(in, sink);
    CHECK(used == first.size());
    CHECK(p.done());
    CHECK(b.bytes == "{\"position\":1}");
    p.reset();
    CHECK(p.feed(std::string_view(in).substr(used), sink) == in.size() - used);
    CHECK(p.done());
    CHECK(p.status() == 403);
}

TEST_CASE("http response: chunked bodies are decoded", "[bench][http_response]") {
    HttpResponseParser p;
    Body b;
    auto sink = b.sink();
    std::string in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n";
    for (std::size_t i = 0; i < in.size(); i += 3) p.feed(std::string_view(in).substr(i, 3), sink);
    CHECK(p.done());
    CHECK(b.bytes == "hello, world");
}

TEST_CASE("http response: 204 has no body", "[bench][http_response]") {
    HttpResponseParser p;
    Body b;
    std::string in = "HTTP/1.1 204 No Content\r\n\r\n";
    CHECK(p.feed(in, b.sink()) == in.size());
    CHECK(p.done());
    CHECK(p.status() == 204);
}

TEST_CASE("http response: malformed input fails", "[bench][http_response]") {
    Body b;
    HttpResponseParser bad_status;
    bad_status.feed("HTTP/1.1 2x0 OK\r\n\r\n", b.sink());
    CHECK(bad_status.failed());
    HttpResponseParser bad_chunk;
    bad_chunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b.sink());
    CHECK(bad_chunk.failed());
    HttpResponseParser cut;
    cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", b.sink());
    cut.on_eof();
    CHECK(cut.failed());
    HttpResponseParser huge(64);
    huge.feed("HTTP/1.1 200 OK\r\nX-Long: " + std::string(100, 'a'), b.sink());
    CHECK(huge.failed());
}
