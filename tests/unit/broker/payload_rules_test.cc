// The one place the payload and event-name rules live (publish endpoint, live Redis
// messages, Redis history).
#include <catch2/catch.hpp>

#include "gateway/broker/payload_rules.h"

using namespace sluice::broker;

TEST_CASE("payload rules: size, NUL, UTF-8", "[broker][payload]") {
    CHECK(check_payload("hello", 5) == PayloadProblem::None);
    CHECK(check_payload("hello!", 5) == PayloadProblem::TooLarge);
    CHECK(check_payload(std::string("a\0b", 3), 10) == PayloadProblem::Nul);
    CHECK(check_payload("caf\xc3", 10) == PayloadProblem::InvalidUtf8);
    CHECK(check_payload("caf\xc3\xa9", 10) == PayloadProblem::None);
}

TEST_CASE("event names: one short line of UTF-8 text, not gap", "[broker][payload]") {
    CHECK(event_name_problem("").empty());  // the default "message"
    CHECK(event_name_problem("progress").empty());
    CHECK(event_name_problem("caf\xc3\xa9").empty());
    CHECK(event_name_problem(std::string(128, 'x')).empty());
    CHECK_FALSE(event_name_problem(std::string(129, 'x')).empty());
    CHECK_FALSE(event_name_problem("gap").empty());
    for (char c : {'\0', '\r', '\n', '\t', '\x01', '\x1f', '\x7f'})
        CHECK_FALSE(event_name_problem(std::string("a") + c + "b").empty());
    CHECK_FALSE(event_name_problem("caf\xc3").empty());
}

TEST_CASE("an event is checked for its payload first, then its name", "[broker][payload]") {
    CHECK(check_event("ok", "", 10) == PayloadProblem::None);
    CHECK(check_event("ok", "gap", 10) == PayloadProblem::BadEventName);
    CHECK(check_event("caf\xc3", "gap", 10) == PayloadProblem::InvalidUtf8);
    CHECK(std::string(describe(PayloadProblem::BadEventName)) == "event name is not allowed");
}
