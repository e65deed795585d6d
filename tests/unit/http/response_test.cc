// Response building: status line, headers, Content-Length rules and the JSON error body.
#include "gateway/http/response.h"

#include <catch2/catch.hpp>

using sluice::http::build_response;
using sluice::http::build_head;
using sluice::http::chunk;
using sluice::http::kLastChunk;
using sluice::http::error_body;
using sluice::http::ResponseHead;
using sluice::http::status_text;

TEST_CASE("status_text knows every code sluice sends", "[http][response]") {
    CHECK(status_text(200) == "OK");
    CHECK(status_text(204) == "No Content");
    CHECK(status_text(404) == "Not Found");
    CHECK(status_text(413) == "Content Too Large");
    CHECK(status_text(414) == "URI Too Long");
    CHECK(status_text(431) == "Request Header Fields Too Large");
    CHECK(status_text(505) == "HTTP Version Not Supported");
    for (int code : {200, 201, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 408, 413, 414,
                     416, 429, 431, 500, 501, 502, 503, 504, 505}) {
        INFO(code);
        CHECK(status_text(code) != "Unknown");
    }
    CHECK(status_text(299) == "Unknown");
    CHECK(status_text(-1) == "Unknown");
}

TEST_CASE("a 200 response has exact bytes", "[http][response]") {
    ResponseHead head;
    head.status = 200;
    head.headers = {{"X-Request-Id", "abc"}, {"Cache-Control", "no-store"}};
    CHECK(build_response(head, R"({"position":3})") ==
          "HTTP/1.1 200 OK\r\n"
          "X-Request-Id: abc\r\n"
          "Cache-Control: no-store\r\n"
          "Content-Type: application/json\r\n"
          "Content-Length: 14\r\n"
          "Connection: keep-alive\r\n"
          "\r\n"
          R"({"position":3})");
}

TEST_CASE("a 204 response has no body and no Content-Length", "[http][response]") {
    ResponseHead head;
    head.status = 204;
    head.keep_alive = false;
    CHECK(build_response(head, "ignored") == "HTTP/1.1 204 No Content\r\n"
                                             "Connection: close\r\n"
                                             "\r\n");
    head.status = 304;
    CHECK(build_response(head, "") == "HTTP/1.1 304 Not Modified\r\n"
                                      "Connection: close\r\n"
                                      "\r\n");
}

TEST_CASE("an empty body has Content-Length 0 and no Content-Type", "[http][response]") {
    ResponseHead head;
    head.status = 404;
    CHECK(build_response(head, "", "text/plain") == "HTTP/1.1 404 Not Found\r\n"
                                                    "Content-Length: 0\r\n"
                                                    "Connection: keep-alive\r\n"
                                                    "\r\n");
}

TEST_CASE("the content type argument is used", "[http][response]") {
    ResponseHead head;
    std::string out = build_response(head, "hi", "text/plain; charset=utf-8");
    CHECK(out.find("\r\nContent-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
    CHECK(out.size() >= 2);
    CHECK(out.substr(out.size() - 6) == "\r\n\r\nhi");
}

TEST_CASE("CR and LF in header fields cannot split the response", "[http][response]") {
    ResponseHead head;
    head.headers = {{"X-Echo", "a\r\nSet-Cookie: evil=1"}};
    std::string out = build_response(head, "");
    CHECK(out.find("X-Echo: aSet-Cookie: evil=1\r\n") != std::string::npos);
    CHECK(out.find("\r\nSet-Cookie") == std::string::npos);
}

TEST_CASE("a head for a body that follows: headers in order, framing, Connection", "[http][response]") {
    ResponseHead head;
    head.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"},
                    {"X-Accel-Buffering", "no"}};
    CHECK(build_head(head, "", false) == "HTTP/1.1 200 OK\r\n"
                                         "Content-Type: text/event-stream\r\n"
                                         "Cache-Control: no-cache\r\n"
                                         "X-Accel-Buffering: no\r\n"
                                         "Connection: keep-alive\r\n"
                                         "\r\n");
    head.keep_alive = false;
    CHECK(build_head(head, "", false).find("Connection: close\r\n\r\n") != std::string::npos);
    head.status = 503;
    head.headers.clear();
    CHECK(build_head(head, "", true) == "HTTP/1.1 503 Service Unavailable\r\n"
                                        "Transfer-Encoding: chunked\r\n"
                                        "Connection: close\r\n\r\n");
    // An upstream's own reason phrase is kept (it is informational).
    CHECK(build_head(head, "Busy", false).rfind("HTTP/1.1 503 Busy\r\n", 0) == 0);
}

TEST_CASE("chunks of a chunked body", "[http][response]") {
    CHECK(chunk("abc") == "3\r\nabc\r\n");
    CHECK(chunk(std::string(255, 'x')).rfind("ff\r\n", 0) == 0);
    CHECK(kLastChunk == "0\r\n\r\n");
}

TEST_CASE("error_body is JSON with the reason escaped", "[http][response]") {
    CHECK(error_body(404, "no route") == R"({"error":"no route","status":404})");
    CHECK(error_body(400, "bad \"quote\" and \\ and \n") ==
          R"({"error":"bad \"quote\" and \\ and \n","status":400})");
    CHECK(error_body(400, std::string("ctl\x01", 4)) == R"({"error":"ctl\u0001","status":400})");
}
