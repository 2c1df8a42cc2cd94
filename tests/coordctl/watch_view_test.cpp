// WatchView: what a watch prints from baselines and live events, so that a
// stream rebuilt after coordd restarts reads as one continuous watch.
#include "client/watch_view.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace json = boost::json;
using coordd::Baseline;
using coordd::BaselineRecord;
using coordd::Kind;
using coordd::WatchPlan;
using coordd::WatchView;

namespace {

// "event_type kind id" of each printed event, in order.
struct Printed {
  std::vector<std::string> lines;
  std::vector<json::object> events;
};

struct ViewUnderTest {
  explicit ViewUnderTest(WatchPlan p = {}) : plan(std::move(p)) { plan.root = "/repo"; }
  WatchPlan plan;
  Printed printed;
  WatchView view{plan, [this](const json::object& event) {
                   printed.events.push_back(event);
                   printed.lines.push_back(std::string(event.at("event_type").as_string()) + " " +
                                           std::string(event.at("kind").as_string()) + " " +
                                           std::string(event.at("id").as_string()));
                   return true;
                 }};
  std::vector<std::string> take() { return std::exchange(printed.lines, {}); }
};

BaselineRecord record(Kind kind, std::string id, json::object data, std::uint64_t seq = 1) {
  BaselineRecord out;
  out.kind = kind;
  out.id = std::move(id);
  out.seq = seq;
  out.data = std::move(data);
  return out;
}

BaselineRecord lease(std::string id, bool active, json::object data = {{"addresses", {"x"}}},
                     Kind kind = Kind::kReservation) {
  BaselineRecord out = record(kind, std::move(id), std::move(data));
  out.lease = true;
  out.active = active;
  // Effective expiry already passed: an inactive lease expired by ttl.
  out.effective_expiry = coordd::parse_timestamp("2020-01-01T00:00:00+00:00");
  return out;
}

Baseline baseline(std::vector<BaselineRecord> records, std::uint64_t seq = 10) {
  return Baseline{seq, std::move(records)};
}

json::object live_event(std::string type, std::string kind, std::string id, json::object data) {
  return json::object{
      {"type", "event"}, {"seq", 11},    {"event_type", type}, {"kind", kind},
      {"id", id},        {"data", data}, {"root", "/repo"},    {"schema_version", "1"}};
}

}  // namespace

TEST_CASE(
    "the first baseline is a snapshot in Muse's order: kinds by directory, ids by code point") {
  ViewUnderTest t;
  CHECK(t.view.rebase(
      baseline({record(Kind::kClaim, "c", {}), record(Kind::kIntent, "i", {}),
                record(Kind::kReservation, "b", {}), record(Kind::kReservation, "a", {}),
                record(Kind::kReservation, "Z", {}), record(Kind::kDependency, "d", {})})));
  CHECK(t.take() == std::vector<std::string>{"snapshot reservation Z", "snapshot reservation a",
                                             "snapshot reservation b", "snapshot intent i",
                                             "snapshot claim c", "snapshot dependency d"});
  CHECK(t.view.started());
}

TEST_CASE("a snapshot event carries the record's data, seq and the watched root") {
  ViewUnderTest t;
  t.view.rebase(baseline({record(Kind::kTask, "t", {{"run_id", "a"}}, 7)}));
  REQUIRE(t.printed.events.size() == 1);
  const json::object& event = t.printed.events[0];
  CHECK(event.at("data") == json::object{{"run_id", "a"}});
  CHECK(event.at("seq") == 7);
  CHECK(event.at("root") == "/repo");
  CHECK(event.at("schema_version") == "1");
  CHECK(coordd::parse_timestamp(event.at("timestamp").as_string()).has_value());
}

TEST_CASE(
    "filters apply to the baseline as Muse applies them: kind, run_id and branch, all of them") {
  WatchPlan plan;
  plan.run_id = "agent-1";
  plan.branch = "main";
  ViewUnderTest t(plan);
  t.view.rebase(baseline({record(Kind::kTask, "a", {{"run_id", "agent-1"}, {"branch", "main"}}),
                          record(Kind::kTask, "b", {{"run_id", "agent-1"}, {"branch", "dev"}}),
                          record(Kind::kTask, "c", {{"run_id", "agent-2"}, {"branch", "main"}}),
                          record(Kind::kTask, "d", {{"run_id", 1}, {"branch", "main"}})}));
  CHECK(t.take() == std::vector<std::string>{"snapshot task a"});
}

TEST_CASE("a later baseline prints only the differences, kind by kind: added, removed, modified") {
  ViewUnderTest t;
  t.view.rebase(baseline({record(Kind::kReservation, "keep", {{"n", 1}}),
                          record(Kind::kReservation, "edit", {{"n", 1}}),
                          record(Kind::kReservation, "gone", {{"n", 1}}),
                          record(Kind::kIntent, "i-gone", {})}));
  t.take();
  CHECK(t.view.rebase(
      baseline({record(Kind::kReservation, "keep", {{"n", 1}}),
                record(Kind::kReservation, "edit", {{"n", 2}}),
                record(Kind::kReservation, "new", {}), record(Kind::kIntent, "i-new", {})})));
  CHECK(t.take() == std::vector<std::string>{"added reservation new", "removed reservation gone",
                                             "modified reservation edit", "added intent i-new",
                                             "removed intent i-gone"});
  // The same baseline again: nothing happened, nothing is printed.
  t.view.rebase(
      baseline({record(Kind::kReservation, "keep", {{"n", 1}}),
                record(Kind::kReservation, "edit", {{"n", 2}}),
                record(Kind::kReservation, "new", {}), record(Kind::kIntent, "i-new", {})}));
  CHECK(t.take().empty());
}

TEST_CASE("a removed record is printed with the data last shown") {
  ViewUnderTest t;
  t.view.rebase(baseline({record(Kind::kTask, "t", {{"run_id", "a"}})}));
  t.printed.events.clear();
  t.view.rebase(baseline({}, 20));
  REQUIRE(t.printed.events.size() == 1);
  CHECK(t.printed.events[0].at("event_type") == "removed");
  CHECK(t.printed.events[0].at("data") == json::object{{"run_id", "a"}});
}

TEST_CASE("a lease shown active that a later baseline finds inactive is printed as expired, once") {
  ViewUnderTest t;
  t.view.rebase(baseline({lease("r", true)}));
  t.take();
  t.view.rebase(baseline({lease("r", false)}));
  CHECK(t.take() == std::vector<std::string>{"expired reservation r"});
  CHECK(t.printed.events.back().at("cause") == "ttl");
  t.view.rebase(baseline({lease("r", false)}));
  CHECK(t.take().empty());
}

TEST_CASE("an expiry before its effective expiry time is printed with cause released") {
  ViewUnderTest t;
  t.view.rebase(baseline({lease("r", true)}));
  BaselineRecord released = lease("r", false);
  released.effective_expiry = coordd::parse_timestamp("2999-01-01T00:00:00+00:00");
  t.view.rebase(baseline({released}));
  CHECK(t.printed.events.back().at("event_type") == "expired");
  CHECK(t.printed.events.back().at("cause") == "released");
}

TEST_CASE("a lease that was never active is never printed as expired") {
  ViewUnderTest t;
  t.view.rebase(baseline({lease("r", false)}));
  t.take();
  t.view.rebase(baseline({lease("r", false)}));
  CHECK(t.take().empty());
}

TEST_CASE("claims expire silently unless coordd's own events are asked for") {
  json::object claim{{"claim_id", "c"}, {"expires_at", "2020-01-01T00:00:00+00:00"}};
  ViewUnderTest muse_like;
  muse_like.view.rebase(baseline({lease("c", true, claim, Kind::kClaim)}));
  muse_like.take();
  muse_like.view.rebase(baseline({lease("c", false, claim, Kind::kClaim)}));
  CHECK(muse_like.take().empty());
  CHECK(muse_like.view.live(live_event("expired", "claim", "c", claim)));
  CHECK(muse_like.take().empty());

  WatchPlan plan;
  plan.coordd_events = true;
  ViewUnderTest extended(plan);
  extended.view.rebase(baseline({lease("c", true, claim, Kind::kClaim)}));
  extended.take();
  extended.view.rebase(baseline({lease("c", false, claim, Kind::kClaim)}));
  CHECK(extended.take() == std::vector<std::string>{"expired claim c"});
}

TEST_CASE("a record that stopped matching is not reported again, not even when it is removed") {
  WatchPlan plan;
  plan.run_id = "agent-1";
  ViewUnderTest t(plan);
  t.view.rebase(baseline({record(Kind::kTask, "t", {{"run_id", "agent-1"}})}));
  t.take();
  t.view.rebase(baseline({record(Kind::kTask, "t", {{"run_id", "agent-2"}})}));
  CHECK(t.take().empty());
  // Matching again is a modification, as the live stream would report it.
  t.view.rebase(baseline({record(Kind::kTask, "t", {{"run_id", "agent-1"}, {"n", 2}})}));
  CHECK(t.take() == std::vector<std::string>{"modified task t"});
  t.view.rebase(baseline({record(Kind::kTask, "t", {{"run_id", "agent-2"}})}));
  t.view.rebase(baseline({}));
  CHECK(t.take().empty());
}

TEST_CASE("live events are printed as they come and remembered for the next baseline") {
  ViewUnderTest t;
  t.view.rebase(baseline({}));
  json::object data{{"addresses", {"x"}}, {"expires_at", "2999-01-01T00:00:00+00:00"}};
  CHECK(t.view.live(live_event("added", "reservation", "r", data)));
  CHECK(t.take() == std::vector<std::string>{"added reservation r"});
  // Printed once live: the next baseline holding it prints nothing more.
  t.view.rebase(baseline({lease("r", true, data)}));
  CHECK(t.take().empty());
  // A lease added live with a future expires_at counts as active.
  t.view.rebase(baseline({lease("r", false, data)}));
  CHECK(t.take() == std::vector<std::string>{"expired reservation r"});
}

TEST_CASE("a lease added live already past its expires_at is not expired later") {
  ViewUnderTest t;
  t.view.rebase(baseline({}));
  json::object data{{"expires_at", "2020-01-01T00:00:00+00:00"}};
  t.view.live(live_event("added", "reservation", "r", data));
  t.take();
  t.view.rebase(baseline({lease("r", false, data)}));
  CHECK(t.take().empty());
}

TEST_CASE("the handler ends the watch: rebase and live return false when it says stop") {
  WatchPlan plan;
  plan.root = "/repo";
  int budget = 2;
  WatchView view(plan, [&budget](const json::object&) { return --budget > 0; });
  CHECK_FALSE(view.rebase(baseline(
      {record(Kind::kTask, "a", {}), record(Kind::kTask, "b", {}), record(Kind::kTask, "c", {})})));
  CHECK(budget == 0);
}
