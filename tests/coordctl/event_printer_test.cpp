// event_printer: Muse's line formats with full ids and sanitized strings.
#include "client/event_printer.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>

namespace json = boost::json;
using coordd::json_event_line;
using coordd::text_event_line;

namespace {

const std::string kId = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

json::object event(std::string_view type, std::string_view kind, std::string_view data) {
  return json::object{{"type", "event"},    {"sub", 1},
                      {"seq", 7},           {"schema_version", "1"},
                      {"event_type", type}, {"kind", kind},
                      {"id", kId},          {"timestamp", "2026-03-30T15:00:00+00:00"},
                      {"root", "/repo"},    {"data", json::parse(data)}};
}

}  // namespace

TEST_CASE("a reservation line shows the agent, the full id and the first three addresses") {
  auto line = text_event_line(
      event(
          "added", "reservation",
          R"({"run_id":"agent-42","branch":"feature/billing","addresses":["a","b","c","d","e"]})"),
      false);
  CHECK(line == "+ reservation  agent-42@feature/billing         " + kId + " [a, b, c +2 more]");
}

TEST_CASE("intent, release and heartbeat lines show their kind's details") {
  CHECK(
      text_event_line(
          event("snapshot", "intent",
                R"({"run_id":"a","branch":"main","operation":"edit","addresses":["x.py::f","y"]})"),
          false)
          .ends_with(kId + " edit x.py::f"));
  CHECK(text_event_line(event("added", "release",
                              R"({"run_id":"a","reason":"completed","reservation_id":"r-1"})"),
                        false)
            .ends_with(kId + " completed (res: r-1)"));
  CHECK(
      text_event_line(
          event(
              "modified", "heartbeat",
              R"({"run_id":"a","extended_expires_at":"2026-03-30T15:00Z","reservation_id":"r-1"})"),
          false) == "~ heartbeat    a                                " + kId +
                        " extends to 2026-03-30T15:00Z (res: r-1)");
}

TEST_CASE("an expired line says its cause, and a removed record with no data shows only its id") {
  json::object expired = event("expired", "reservation", R"({"run_id":"a","addresses":["x"]})");
  expired["cause"] = "ttl";
  CHECK(text_event_line(expired, false).ends_with(kId + " [x] (expired: ttl)"));
  CHECK(text_event_line(event("removed", "task", "{}"), false) == "- task         " + kId);
}

TEST_CASE("control characters planted in agent strings never reach the terminal") {
  auto line = text_event_line(
      event(
          "added", "reservation",
          R"({"run_id":"ag\u001b[31ment","branch":"ma\u001b]0;pwned\u0007in","addresses":["x\u009b2J"]})"),
      false);
  CHECK(line.find('\x1b') == std::string::npos);
  CHECK(line.find('\x07') == std::string::npos);
  CHECK(line.find("agent@main") != std::string::npos);
}

TEST_CASE("colour wraps the icon and kind only when asked for") {
  auto line = text_event_line(event("added", "task", R"({"run_id":"a"})"), true);
  CHECK(line.starts_with("\x1b[32m+ task"));
}

TEST_CASE(
    "a JSON line carries Muse's fields, kind as its directory name, then seq and root, and drops "
    "type and sub") {
  CHECK(
      json_event_line(event("added", "task", R"({"run_id":"a","n":1.0})")) ==
      R"({"schema_version": "1", "event_type": "added", "kind": "tasks", "id": ")" + kId +
          R"(", "timestamp": "2026-03-30T15:00:00+00:00", "data": {"run_id": "a", "n": 1.0}, "seq": 7, "root": "/repo"})");
}

TEST_CASE("an expired JSON line ends with its cause") {
  json::object expired = event("expired", "reservation", R"({"addresses":["x"]})");
  expired["cause"] = "released";
  CHECK(json_event_line(expired).ends_with(
      R"("kind": "reservations", "id": ")" + kId +
      R"(", "timestamp": "2026-03-30T15:00:00+00:00", "data": {"addresses": ["x"]}, "seq": 7, "root": "/repo", "cause": "released"})"));
}

TEST_CASE("colours are never wanted with NO_COLOR set, nor on a stream that is not a terminal") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  CHECK_FALSE(coordd::colour_wanted(file));
  std::fclose(file);
  ::setenv("NO_COLOR", "1", 1);
  CHECK_FALSE(coordd::colour_wanted(stdout));
  ::unsetenv("NO_COLOR");
}
