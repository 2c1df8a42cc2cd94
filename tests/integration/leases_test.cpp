// Active leases over the socket: a reservation expires once at its
// expires_at, a heartbeat keeps it active, a release ends it.
#include <doctest/doctest.h>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::integration {
namespace {

using std::chrono::system_clock;

// Far enough ahead that writing and ingesting a record never takes longer.
constexpr auto kShortLease = 1500ms;

TEST_CASE("a reservation whose expires_at passes emits exactly one expired, with cause ttl") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();
  auto expiry = system_clock::now() + kShortLease;
  json::object lease = reservation("r1", iso_utc(expiry));

  write_record_atomic(ws.kind_dir("reservations"), "r1", lease);
  reader.read_until(event_for("added", "r1"));
  json::object expired = reader.read_until(event_for("expired", "r1")).back();

  CHECK(system_clock::now() >= expiry);
  CHECK(expired.at("cause") == "ttl");
  CHECK(expired.at("kind") == "reservation");
  CHECK(expired.at("data") == lease);
  write_record_atomic(ws.kind_dir("tasks"), "marker", json::object{{"task_id", "marker"}});
  auto later = reader.read_until(event_for("added", "marker"));
  CHECK(events_of_type(later, "expired").empty());
}

TEST_CASE("a heartbeat that arrives in time keeps a reservation active past its expires_at") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe({{"kinds", "reservation"}});
  auto original_time = system_clock::now() + kShortLease;
  std::string original_expiry = iso_utc(original_time);
  std::string extended_expiry = iso_utc(system_clock::now() + 1h);

  // "sibling" shares the original expiry and gets no heartbeat: its expired
  // event says the daemon's clock has passed that expiry.
  write_record_atomic(ws.kind_dir("reservations"), "held", reservation("held", original_expiry));
  write_record_atomic(ws.kind_dir("reservations"), "sibling",
                      reservation("sibling", original_expiry));
  write_record_atomic(ws.kind_dir("heartbeats"), "held",
                      {{"reservation_id", "held"}, {"extended_expires_at", extended_expiry}});
  auto lines = reader.read_until(event_for("expired", "sibling"));

  CHECK(system_clock::now() >= original_time);
  CHECK(ids_of(events_of_type(lines, "expired")) == std::vector<std::string>{"sibling"});
  json::object list =
      reader.call({{"op", "list"}, {"kinds", "reservation"}, {"active_only", true}});
  json::array active = list.at("records").as_array();
  REQUIRE(active.size() == 1);
  CHECK(active.at(0).at("id") == "held");
  CHECK(active.at(0).at("active") == true);
  CHECK(active.at(0).at("effective_expires_at") == extended_expiry.c_str());
}

TEST_CASE("a release makes an active reservation emit expired, with cause released") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();
  json::object lease = reservation("r1", iso_utc(system_clock::now() + 1h));
  write_record_atomic(ws.kind_dir("reservations"), "r1", lease);
  reader.read_until(event_for("added", "r1"));

  write_record_atomic(ws.kind_dir("releases"), "r1",
                      {{"reservation_id", "r1"}, {"run_id", "run-1"}, {"reason", "done"}});

  json::object expired = reader.read_until(event_for("expired", "r1")).back();
  CHECK(expired.at("cause") == "released");
  CHECK(expired.at("kind") == "reservation");
  CHECK(expired.at("data") == lease);
  json::object list = reader.call({{"op", "list"}, {"kinds", "reservation"}});
  CHECK(list.at("records").at(0).at("active") == false);
}

}  // namespace
}  // namespace coordd::integration
