// Header rewriting for proxied requests and responses: hop-by-hop removal, forwarding
// headers, request ids, Host and body framing.
#include "gateway/proxy/headers.h"

#include <catch2/catch.hpp>

using namespace sluice;
using namespace sluice::proxy;

namespace {

http::RequestHead request(std::vector<http::Header> headers, std::string method = "GET") {
    http::RequestHead r;
    r.method = std::move(method);
    r.target = "/api/x?y=1";
    r.path = "/api/x";
    r.query = "y=1";
    r.headers = std::move(headers);
    return r;
}

ForwardedFor fwd() { return ForwardedFor{"192.0.2.7", "rid-1", "upstream.host:3000"}; }

bool has_line(const std::string& head, const std::string& line) {
    return head.find("\r\n" + line + "\r\n") != std::string::npos;
}

}  // namespace

TEST_CASE("hop-by-hop headers are recognised in any case", "[proxy][headers]") {
    for (const char* n :
         {"Connection", "keep-alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding",
          "UPGRADE", "Proxy-Authenticate", "Proxy-Authorization", "Expect"}) {
        CHECK(is_hop_by_hop(n));
    }
    CHECK_FALSE(is_hop_by_hop("Content-Type"));
    CHECK_FALSE(is_hop_by_hop("Authorization"));
    CHECK(listed_in_connection("close, X-Foo ,bar", "x-foo"));
    CHECK(listed_in_connection("close, X-Foo ,bar", "BAR"));
    CHECK_FALSE(listed_in_connection("close, X-Foo", "X-Fo"));
}

TEST_CASE("the upstream request keeps the target and end-to-end headers", "[proxy][headers]") {
    auto r = request({{"Host", "public"},
                      {"Accept", "*/*"},
                      {"Connection", "keep-alive, X-Hop"},
                      {"X-Hop", "1"},
                      {"Keep-Alive", "5"},
                      {"TE", "trailers"},
                      {"Expect", "100-continue"},
                      {"X-End", "2"}});
    std::string h = build_upstream_head(r, fwd(), Framing::None);
    CHECK(h.rfind("GET /api/x?y=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(has_line(h, "Host: upstream.host:3000"));
    CHECK(has_line(h, "Accept: */*"));
    CHECK(has_line(h, "X-End: 2"));
    for (const char* gone : {"X-Hop", "Keep-Alive", "TE:", "Expect", "Connection"}) {
        INFO(gone);
        CHECK(h.find(gone) == std::string::npos);
    }
    CHECK(h.size() >= 4);
    CHECK(h.substr(h.size() - 4) == "\r\n\r\n");
}

TEST_CASE("forwarding headers are set, X-Forwarded-For appended", "[proxy][headers]") {
    auto r = request({{"Host", "public:8080"},
                      {"X-Forwarded-For", "10.0.0.1"},
                      {"X-Forwarded-For", "10.0.0.2"},
                      {"X-Forwarded-Proto", "https"},
                      {"X-Forwarded-Host", "spoofed"},
                      {"X-Request-Id", "client-id"}});
    std::string h = build_upstream_head(r, fwd(), Framing::None);
    CHECK(has_line(h, "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 192.0.2.7"));
    CHECK(has_line(h, "X-Forwarded-Proto: http"));
    CHECK(has_line(h, "X-Forwarded-Host: public:8080"));
    CHECK(has_line(h, "X-Request-Id: rid-1"));
    CHECK(h.find("spoofed") == std::string::npos);
    CHECK(h.find("https") == std::string::npos);
    CHECK(h.find("client-id") == std::string::npos);
    // A client that came over TLS: https, whatever it claimed.
    ForwardedFor secure = fwd();
    secure.secure = true;
    h = build_upstream_head(request({{"Host", "public"}, {"X-Forwarded-Proto", "http"}}), secure, Framing::None);
    CHECK(has_line(h, "X-Forwarded-Proto: https"));
    CHECK(h.find("X-Forwarded-Proto: http\r") == std::string::npos);

    auto bare = request({});
    std::string b = build_upstream_head(bare, fwd(), Framing::None);
    CHECK(has_line(b, "X-Forwarded-For: 192.0.2.7"));
    CHECK(b.find("X-Forwarded-Host") == std::string::npos);
}

TEST_CASE("request body framing", "[proxy][headers]") {
    auto with_length = request({{"Content-Length", "12"}}, "POST");
    std::string a = build_upstream_head(with_length, fwd(), Framing::Length);
    CHECK(has_line(a, "Content-Length: 12"));
    CHECK(a.find("Transfer-Encoding") == std::string::npos);
    auto chunked = request({{"Transfer-Encoding", "chunked"}}, "POST");
    std::string b = build_upstream_head(chunked, fwd(), Framing::Chunked);
    CHECK(has_line(b, "Transfer-Encoding: chunked"));
    CHECK(b.find("Content-Length") == std::string::npos);
}

TEST_CASE("values cannot split the message", "[proxy][headers]") {
    auto r = request({{"X-Evil", "a\r\nInjected: 1"}});
    std::string h = build_upstream_head(r, fwd(), Framing::None);
    CHECK(h.find("\r\nInjected") == std::string::npos);
}

TEST_CASE("a client request id is used only when it is sane", "[proxy][headers]") {
    CHECK(usable_request_id(request({{"X-Request-Id", "abc-123"}})) == "abc-123");
    CHECK(usable_request_id(request({})).empty());
    CHECK(usable_request_id(request({{"X-Request-Id", "has space"}})).empty());
    CHECK(usable_request_id(request({{"X-Request-Id", std::string(201, 'a')}})).empty());
}

TEST_CASE("the client response headers", "[proxy][headers]") {
    auto has = [](const auto& headers, std::string_view name, std::string_view value) {
        for (const auto& [n, v] : headers)
            if (n == name && v == value) return true;
        return false;
    };
    auto names = [](const auto& headers) {
        std::string all;
        for (const auto& [n, v] : headers) all += n + "\n";
        return all;
    };
    http::ResponseInfo resp;
    resp.status = 200;
    resp.reason = "OK";
    resp.headers = {{"Content-Type", "text/plain"}, {"Content-Length", "5"},
                    {"Connection", "close, X-Hop"}, {"X-Hop", "1"},
                    {"Keep-Alive", "t=1"},          {"Transfer-Encoding", "chunked"},
                    {"Set-Cookie", "a=1"}};
    auto len = client_headers(resp, false, "rid");
    CHECK(has(len, "Content-Length", "5"));
    CHECK(has(len, "Content-Type", "text/plain"));
    CHECK(has(len, "Set-Cookie", "a=1"));
    CHECK(has(len, "X-Request-Id", "rid"));
    // Hop-by-hop headers, and those Connection names, are the carrier's business.
    CHECK(names(len).find("X-Hop") == std::string::npos);
    CHECK(names(len).find("Keep-Alive") == std::string::npos);
    CHECK(names(len).find("Transfer-Encoding") == std::string::npos);
    CHECK(names(len).find("Connection") == std::string::npos);

    // A body re-framed for the client loses the upstream's length.
    CHECK(names(client_headers(resp, true, "rid")).find("Content-Length") == std::string::npos);

    // HEAD answers keep the announced length; the upstream's own request id wins.
    resp.headers.push_back({"X-Request-Id", "theirs"});
    auto head = client_headers(resp, false, "rid");
    CHECK(has(head, "Content-Length", "5"));
    CHECK(has(head, "X-Request-Id", "theirs"));
    CHECK_FALSE(has(head, "X-Request-Id", "rid"));

    // A 204 never announces a length (RFC 9110 8.6), even if the upstream sent one (#9).
    http::ResponseInfo no_content;
    no_content.status = 204;
    no_content.headers = {{"Content-Length", "5"}, {"X-A", "1"}};
    auto nc = client_headers(no_content, false, "rid");
    CHECK(names(nc).find("Content-Length") == std::string::npos);
    CHECK(has(nc, "X-A", "1"));
    no_content.status = 304;  // a 304 may repeat the representation's length
    CHECK(has(client_headers(no_content, false, "rid"), "Content-Length", "5"));

    http::ResponseInfo bare;
    bare.status = 503;
    CHECK(client_headers(bare, false, "").empty());
}

TEST_CASE("chunk prefixes and idempotent methods", "[proxy][headers]") {
    CHECK(chunk_prefix(0) == "0\r\n");
    CHECK(chunk_prefix(255) == "ff\r\n");
    CHECK(chunk_prefix(65536) == "10000\r\n");
    for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
        CHECK(is_idempotent(m));
    for (const char* m : {"POST", "PATCH", "CONNECT"}) CHECK_FALSE(is_idempotent(m));
}
