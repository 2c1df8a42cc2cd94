// coordctl top --json's object: a model's agents, leases, lines and rates
// for programs, its strings exactly as coordd sent them.
#include "client/top_json.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

namespace json = boost::json;
using namespace std::chrono_literals;
using coordd::top_json;
using coordd::TopClock;
using coordd::TopModel;

namespace {

const TopClock::time_point t0{std::chrono::hours(1000)};
const coordd::WallTime now = *coordd::parse_timestamp("2026-03-30T15:00:00+00:00");

json::object parsed(const char* text) { return json::parse(text).as_object(); }

// The model's object as a program reads it: serialized, then parsed back.
json::object read_back(const TopModel& model, std::optional<TopClock::time_point> rates_at) {
  return json::parse(json::serialize(top_json(model, now, rates_at))).as_object();
}

}  // namespace

TEST_CASE("top --json lists each agent's state and waiting messages, connected first") {
  TopModel model;
  model.set_status(parsed(R"({"agents":{"list":[
      {"agent":"w2","connected":false,"waiting":3},
      {"agent":"orch","connected":true,"waiting":0}]}})"));
  json::array agents = read_back(model, std::nullopt).at("agents").as_array();
  REQUIRE(agents.size() == 2);
  CHECK(agents[0] == parsed(R"({"name":"orch","state":"connected","waiting":0})"));
  CHECK(agents[1] == parsed(R"({"name":"w2","state":"away","waiting":3})"));
}

TEST_CASE("top --json gives each lease its run_id, addresses, expiry and whole seconds left") {
  TopModel model;
  model.set_leases(json::parse(R"([
      {"kind":"reservation","id":"r1","active":true,"effective_expires_at":"2026-03-30T15:04:12.5+00:00",
       "data":{"run_id":"agent-42","addresses":["a.py::f","b.py::g","c","d"]}},
      {"kind":"claim","id":"c1","active":true,"data":{}}])")
                       .as_array());
  json::array leases = read_back(model, std::nullopt).at("leases").as_array();
  REQUIRE(leases.size() == 2);
  CHECK(leases[0].at("run_id") == "?");  // a record without run_id sorts first
  CHECK(leases[0].at("addresses").is_null());
  CHECK(leases[0].at("seconds_left").is_null());
  CHECK(leases[1] == parsed(R"({"run_id":"agent-42","kind":"reservation","id":"r1",
      "addresses":["a.py::f","b.py::g","c","d"],"expires_at":"2026-03-30T15:04:12.500000+00:00",
      "seconds_left":252})"));
}

TEST_CASE("top --json keeps the latest events and messages newest first, with their fields") {
  TopModel model;
  model.on_line(parsed(R"({"type":"event","seq":3,"event_type":"added","kind":"reservation",
      "id":"res-7","timestamp":"2026-03-30T14:59:00+00:00","data":{"run_id":"agent-42"}})"),
                t0);
  model.on_line(parsed(R"({"type":"message","seq":4,"from":"w1","to":"*",
      "timestamp":"2026-03-30T14:59:01+00:00","message":{"kind":"progress_report","turn":2}})"),
                t0);
  model.on_line(parsed(R"({"type":"message","seq":5,"from":"orch","to":"w1",
      "message":{"kind":"cancel"}})"),
                t0);
  json::object top = read_back(model, std::nullopt);
  CHECK(top.at("last_seq") == 5);
  CHECK(top.at("events") == json::parse(R"([{"seq":3,"timestamp":"2026-03-30T14:59:00+00:00",
      "event_type":"added","kind":"reservation","id":"res-7","run_id":"agent-42"}])"));
  CHECK(top.at("messages") == json::parse(R"([
      {"seq":5,"timestamp":null,"from":"orch","to":"w1","kind":"cancel","summary":null},
      {"seq":4,"timestamp":"2026-03-30T14:59:01+00:00","from":"w1","to":"*",
       "kind":"progress_report","summary":"{\"turn\":2}"}])"));
}

TEST_CASE("top --json strings come back as sent, control characters escaped in the line") {
  const std::string name = "w1\x1b[2J\x01";
  const std::string summary = "line one\nline\ttwo \x7f";
  TopModel model;
  model.set_daemon("coordd/0.1.0", "/tmp/a\x1b]0;x\a/coordd.sock");
  json::object agent{{"agent", name}, {"connected", true}, {"waiting", 0}};
  model.set_status({{"agents", {{"list", json::array{agent}}}}});
  model.on_line({{"type", "message"},
                 {"seq", 1},
                 {"from", name},
                 {"to", "orch"},
                 {"message", {{"kind", "progress_report"}, {"summary", summary}}}},
                t0);
  std::string line = json::serialize(top_json(model, now, std::nullopt));
  CHECK(line.find('\x1b') == std::string::npos);
  CHECK(line.find('\n') == std::string::npos);
  json::object top = json::parse(line).as_object();
  CHECK(top.at("socket") == "/tmp/a\x1b]0;x\a/coordd.sock");
  CHECK(top.at("agents").at(0).at("name").as_string() == name);
  CHECK(top.at("messages").at(0).at("from").as_string() == name);
  CHECK(top.at("messages").at(0).at("summary").as_string() == summary);
}

TEST_CASE("top --json rates are null for a snapshot and the model's counts when read at a time") {
  TopModel model;
  model.on_line(parsed(R"({"type":"event","seq":1,"event_type":"added","kind":"task","id":"t"})"),
                t0);
  model.on_line(parsed(R"({"type":"message","seq":2,"from":"a","to":"b","message":{}})"), t0 + 20s);
  CHECK(read_back(model, std::nullopt).at("rates").is_null());
  CHECK(read_back(model, t0 + 30s).at("rates") == parsed(R"({"events_last_10s":0,
      "events_last_minute":1,"messages_last_10s":0,"messages_last_minute":1})"));
  CHECK(read_back(model, t0 + 25s).at("rates").at("messages_last_10s") == 1);
}
