// Subscribe and list filters: kinds (singular or plural names), run_id and
// branch combine with AND; list can keep active leases only.
#include <doctest/doctest.h>

#include <algorithm>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::integration {
namespace {

using std::chrono::system_clock;

json::object record_of(std::string_view id, std::string_view run_id, std::string_view branch) {
  return {{"intent_id", id}, {"run_id", run_id}, {"branch", branch}};
}

TEST_CASE("a subscription's kinds, run_id and branch filters combine with AND") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe(
      {{"kinds", json::array{"reservation", "intents"}}, {"run_id", "run-a"}, {"branch", "main"}});
  std::string expiry = iso_utc(system_clock::now() + 1h);

  write_record_atomic(ws.kind_dir("reservations"), "other-run",
                      reservation("other-run", expiry, "run-b", "main"));
  write_record_atomic(ws.kind_dir("reservations"), "other-branch",
                      reservation("other-branch", expiry, "run-a", "dev"));
  write_record_atomic(ws.kind_dir("tasks"), "other-kind", record_of("other-kind", "run-a", "main"));
  write_record_atomic(ws.kind_dir("reservations"), "match-r",
                      reservation("match-r", expiry, "run-a", "main"));
  write_record_atomic(ws.kind_dir("intents"), "match-i", record_of("match-i", "run-a", "main"));

  auto lines = reader.read_until(event_for("added", "match-i"));
  CHECK(ids_of(events_of_type(lines)) == std::vector<std::string>{"match-r", "match-i"});
}

TEST_CASE("list filters by kind and, with active_only, keeps only active leases") {
  Workspace ws;
  write_record_atomic(ws.kind_dir("reservations"), "live",
                      reservation("live", iso_utc(system_clock::now() + 1h)));
  write_record_atomic(ws.kind_dir("reservations"), "lapsed",
                      reservation("lapsed", "2020-01-01T00:00:00+00:00"));
  write_record_atomic(ws.kind_dir("intents"), "i1", record_of("i1", "run-1", "main"));
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();

  auto ids_listed = [&](json::object request) {
    request["op"] = "list";
    json::object list = reader.call(std::move(request));
    std::vector<std::string> ids;
    for (const json::value& record : list.at("records").as_array()) {
      ids.emplace_back(record.at("id").as_string());
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  };

  CHECK(ids_listed({}) == std::vector<std::string>{"i1", "lapsed", "live"});
  CHECK(ids_listed({{"kinds", "reservations"}}) == std::vector<std::string>{"lapsed", "live"});
  CHECK(ids_listed({{"kinds", "intent"}, {"run_id", "run-1"}}) == std::vector<std::string>{"i1"});
  CHECK(ids_listed({{"kinds", "intent"}, {"run_id", "run-2"}}).empty());
  CHECK(ids_listed({{"active_only", true}}) == std::vector<std::string>{"live"});
}

}  // namespace
}  // namespace coordd::integration
