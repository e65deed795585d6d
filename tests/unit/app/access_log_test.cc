#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "gateway/app/access_log.h"

using sluice::app::RequestLogRecord;
using sluice::app::StreamLogRecord;
namespace access_log = sluice::app::access_log;

TEST_CASE("credential-like query parameters are redacted", "[app][access_log]") {
    CHECK(access_log::redact_query("token=abc") == "token=REDACTED");
    CHECK(access_log::redact_query("a=1&TOKEN=abc&b=2") == "a=1&TOKEN=REDACTED&b=2");
    CHECK(access_log::redact_query(
              "access_token=x&jwt=y&auth=z&key=k&api_key=q&password=p&secret=s") ==
          "access_token=REDACTED&jwt=REDACTED&auth=REDACTED&key=REDACTED&api_key=REDACTED&"
          "password=REDACTED&secret=REDACTED");
    CHECK(access_log::redact_query("Api_Key=x") == "Api_Key=REDACTED");
    CHECK(access_log::redact_query("api%5Fkey=x") == "api%5Fkey=REDACTED"); // percent-encoded name
    CHECK(access_log::redact_query("token=") == "token=REDACTED");
}

TEST_CASE("other query parameters are kept as received", "[app][access_log]") {
    CHECK(access_log::redact_query("") == "");
    CHECK(access_log::redact_query("a=1&b=2") == "a=1&b=2");
    CHECK(access_log::redact_query("tokens=1&monkey=2&token") == "tokens=1&monkey=2&token");
    CHECK(access_log::redact_query("&&a=1&") == "&&a=1&");
    CHECK(access_log::redact_query("x=token%3Dabc") == "x=token%3Dabc");
}

TEST_CASE("a request line has every field, typed", "[app][access_log]") {
    RequestLogRecord r;
    r.request_id = "abc";
    r.method = "GET";
    r.path = "/x\xff\"";
    r.query = "token=s3cr3t&q=1";
    r.route = "/x";
    r.status = 502;
    r.bytes = 120;
    r.seconds = 0.0125;
    r.remote = "127.0.0.1";
    r.upstream = "127.0.0.1:3001";
    r.user_agent = "curl/8";
    std::string line = access_log::render(r, "2026-01-02T03:04:05.678Z");
    CHECK(line.find("s3cr3t") == std::string::npos);
    auto doc = nlohmann::json::parse(line);
    CHECK(doc["ts"] == "2026-01-02T03:04:05.678Z");
    CHECK(doc["type"] == "request");
    CHECK(doc["request_id"] == "abc");
    CHECK(doc["path"] == "/x\xEF\xBF\xBD\"");
    CHECK(doc["query"] == "token=REDACTED&q=1");
    CHECK(doc["status"] == 502);
    CHECK(doc["bytes"] == 120);
    CHECK(doc["duration_ms"] == 12);
    CHECK(doc["upstream"] == "127.0.0.1:3001");
    CHECK(doc["user_agent"] == "curl/8");
}

TEST_CASE("empty optional fields are left out", "[app][access_log]") {
    RequestLogRecord r;
    r.method = "GET";
    r.path = "/";
    auto doc = nlohmann::json::parse(access_log::render(r, "t"));
    CHECK_FALSE(doc.contains("query"));
    CHECK_FALSE(doc.contains("upstream"));
    CHECK_FALSE(doc.contains("user_agent"));
    CHECK(doc.contains("request_id"));
}

TEST_CASE("a stream line has every field", "[app][access_log]") {
    StreamLogRecord s;
    s.request_id = "id";
    s.route = "/events/{ch}";
    s.channel = "a\nb";
    s.events = 3;
    s.bytes = 99;
    s.seconds = 2;
    s.reason = "client";
    s.remote = "::1";
    auto doc = nlohmann::json::parse(access_log::render(s, "t"));
    CHECK(doc["type"] == "stream");
    CHECK(doc["channel"] == "a\nb");
    CHECK(doc["status"] == 200);
    CHECK(doc["events"] == 3);
    CHECK(doc["duration_ms"] == 2000);
    CHECK(doc["reason"] == "client");
}
