// coordctl top's model: what it keeps from coordd's replies and lines, and
// its rates, on a fake clock.
#include "client/top_model.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

namespace json = boost::json;
using namespace std::chrono_literals;
using coordd::RateWindow;
using coordd::TopClock;
using coordd::TopModel;

namespace {

const TopClock::time_point t0{std::chrono::hours(1000)};

json::object line(const char* text) { return json::parse(text).as_object(); }

json::object event(std::uint64_t seq, const char* kind, const char* id) {
  json::object out = line(
      R"({"type":"event","sub":1,"event_type":"added","timestamp":"2026-03-30T15:00:07.5+00:00",
          "data":{"run_id":"agent-42"}})");
  out["seq"] = seq;
  out["kind"] = kind;
  out["id"] = id;
  return out;
}

json::object message(std::uint64_t seq, const char* from, const char* to) {
  json::object out = line(
      R"({"type":"message","timestamp":"2026-03-30T15:02:10.25+00:00",
          "message":{"kind":"progress_report","summary":"compute_total refactored"}})");
  out["seq"] = seq;
  out["from"] = from;
  out["to"] = to;
  return out;
}

}  // namespace

TEST_CASE("a rate counts the arrivals of its window and forgets older ones") {
  RateWindow rate(10s);
  for (int i = 0; i < 5; ++i) rate.add(t0 + i * 1s);
  CHECK(rate.count(t0 + 4s) == 5);
  CHECK(rate.per_second(t0 + 4s) == doctest::Approx(0.5));
  CHECK(rate.count(t0 + 12s) == 2);  // the arrivals at 3 s and 4 s
  CHECK(rate.count(t0 + 60s) == 0);
}

TEST_CASE("a rate over many arrivals counts only those of its window") {
  RateWindow rate(10s);
  for (int i = 0; i < 100000; ++i) rate.add(t0 + std::chrono::milliseconds(i));
  CHECK(rate.count(t0 + 100s) == 100000 - 91000);  // the last 9 whole seconds and a bit
}

TEST_CASE("events and messages are kept newest first with their UTC time and who") {
  TopModel model;
  model.on_line(event(3, "reservation", "res-7"), t0);
  model.on_line(message(4, "w1", "orch"), t0);
  model.on_line(message(5, "orch", "*"), t0);
  REQUIRE(model.events().size() == 1);
  CHECK(model.events()[0].time == "15:00:07");
  CHECK(model.events()[0].text == "added    reservation res-7  agent-42");
  REQUIRE(model.messages().size() == 2);
  CHECK(model.messages()[0].text == "orch → all  progress_report: compute_total refactored");
  CHECK(model.messages()[1].text == "w1 → orch  progress_report: compute_total refactored");
}

TEST_CASE("replayed lines are shown but only live ones count in the rates") {
  TopModel model;
  model.set_live_after(10);
  model.on_line(event(9, "intent", "i1"), t0);
  model.on_line(event(11, "intent", "i2"), t0);
  CHECK(model.events().size() == 2);
  CHECK(model.event_rate().count(t0) == 1);
  CHECK(model.event_minute().count(t0 + 30s) == 1);
}

TEST_CASE("only lease kinds make the leases worth asking again; snapshots are not news") {
  TopModel model;
  CHECK(model.on_line(event(1, "heartbeat", "hb"), t0));
  CHECK_FALSE(model.on_line(event(2, "task", "t"), t0));
  json::object snapshot = event(3, "reservation", "r");
  snapshot["event_type"] = "snapshot";
  CHECK_FALSE(model.on_line(snapshot, t0));
  CHECK(model.events().size() == 2);
}

TEST_CASE("at most kKeptLines events are kept") {
  TopModel model;
  for (std::uint64_t i = 1; i <= TopModel::kKeptLines + 50; ++i) {
    model.on_line(event(i, "task", "t"), t0);
  }
  CHECK(model.events().size() == TopModel::kKeptLines);
  CHECK(model.events().front().seq == TopModel::kKeptLines + 50);
}

TEST_CASE("agents come from status: connected first, then away, each with what waits") {
  TopModel model;
  model.set_status(line(R"({"agents":{"list":[
      {"agent":"w2","connected":false,"waiting":3},
      {"agent":"orch","connected":true,"waiting":0},
      {"agent":"w1","connected":true,"waiting":1}]}})"));
  REQUIRE(model.agents().size() == 3);
  CHECK(model.agents()[0].id == "orch");
  CHECK(model.agents()[1].id == "w1");
  CHECK(model.agents()[2].id == "w2");
  CHECK_FALSE(model.agents()[2].connected);
  CHECK(model.agents()[2].waiting == 3);
}

TEST_CASE("without agents.list (an older coordd) the agents seen in messages are shown") {
  TopModel model;
  model.set_status(line(R"({"agents":{"connected":2}})"));
  model.on_line(message(1, "w1", "orch"), t0);
  REQUIRE(model.agents().size() == 2);
  CHECK(model.agents()[0].id == "w1");
  CHECK_FALSE(model.agents()[0].waiting.has_value());
}

TEST_CASE("leases are the active reservations and claims, by run_id then expiry") {
  TopModel model;
  model.set_leases(json::parse(R"([
      {"kind":"reservation","id":"r2","active":true,"effective_expires_at":"2026-03-30T15:09:00+00:00",
       "data":{"run_id":"b","addresses":["x.py"]}},
      {"kind":"reservation","id":"r1","active":false,"data":{"run_id":"a"}},
      {"kind":"claim","id":"c1","active":true,"effective_expires_at":"2026-03-30T15:05:00+00:00",
       "data":{"run_id":"b"}},
      {"kind":"reservation","id":"r3","active":true,"effective_expires_at":null,
       "data":{"run_id":"a","addresses":["a","b","c","d"]}}])")
                       .as_array());
  REQUIRE(model.leases().size() == 3);
  CHECK(model.leases()[0].id == "r3");
  CHECK(model.leases()[0].addresses == "a, b, c +1 more");
  CHECK_FALSE(model.leases()[0].expires.has_value());
  CHECK(model.leases()[1].id == "c1");
  CHECK(model.leases()[2].id == "r2");
}

TEST_CASE("the version changes with what is shown, not with a repeated reply") {
  TopModel model;
  json::object status =
      line(R"({"agents":{"list":[{"agent":"w1","connected":true,"waiting":0}]}})");
  model.set_status(status);
  std::uint64_t version = model.version();
  model.set_status(status);
  CHECK(model.version() == version);
  model.set_connected(false, "coordd not answering — reconnecting");
  CHECK(model.version() != version);
}

TEST_CASE("control characters from agents never reach the screen") {
  TopModel model;
  model.on_line(message(1, "w1\x1b[2J", "orch"), t0);
  CHECK(model.messages()[0].text.find('\x1b') == std::string::npos);
}
