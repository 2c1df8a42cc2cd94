// The reservations view coordctl reserve, heartbeat and release decide on,
// built from list replies shaped as a clustered coordd sends them: which
// reservations are this host's, which a release ended (per host, as leases
// are), and what the conflict warning says of a holder on another host.
#include "client/reservation_view.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "client/reserve_command.hpp"

using namespace coordd;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

json::value listed(std::string_view kind, std::string_view id, std::string_view origin,
                   json::object data, bool active = true) {
  json::object record{
      {"kind", kind}, {"id", id}, {"root", "/repo"}, {"origin", origin}, {"data", std::move(data)}};
  if (kind == "reservation") {
    record["active"] = active;
    record["effective_expires_at"] = "2026-03-30T15:05:00+00:00";
  }
  return record;
}

json::object reservation_data(std::string_view id, std::string_view run_id) {
  return {{"reservation_id", id},
          {"run_id", run_id},
          {"branch", "main"},
          {"addresses", json::array{"a.py::f"}},
          {"expires_at", "2026-03-30T15:05:00+00:00"}};
}

// Host "here" holds r-1; host "there" holds r-1 too (another lease) and r-2,
// and released its r-1.
const json::array kSwarm = {
    listed("reservation", "r-1", "here", reservation_data("r-1", "agent-1")),
    listed("reservation", "r-1", "there", reservation_data("r-1", "agent-9"), false),
    listed("reservation", "r-2", "there", reservation_data("r-2", "agent-2")),
    listed("release", "rel-1", "there", json::object{{"reservation_id", "r-1"}}),
};

}  // namespace

TEST_CASE("records of the origins a local list names are this host's; the others are remote") {
  ReservationView view = view_of_listed(kSwarm, {"here"});
  REQUIRE(view.reservations.size() == 3);
  CHECK(view.reservations[0].local);
  CHECK(!view.reservations[1].local);
  CHECK(view.reservations[2].origin == "there");
  CHECK(!view.reservations[2].local);
  CHECK(view.reservations[2].addresses == std::vector<std::string>{"a.py::f"});
  CHECK(view.reservations[2].effective_expiry == parse_timestamp("2026-03-30T15:05:00+00:00"));
}

TEST_CASE("a release ends the reservation of its own host only") {
  ReservationView view = view_of_listed(kSwarm, {"here"});
  CHECK(view.reservations[0].released_by == "");
  CHECK(view.reservations[1].released_by == "rel-1");
}

TEST_CASE("heartbeat and release find this host's reservation, and say where another host's is") {
  ReservationView view = view_of_listed(kSwarm, {"here"});
  Result<KnownReservation> own = own_reservation(view, "r-1");
  REQUIRE(own.ok());
  CHECK(own->origin == "here");
  Result<KnownReservation> remote = own_reservation(view, "r-2");
  CHECK(remote.status().code() == "unknown_reservation");
  CHECK(remote.status().message().find("taken on host there") != std::string::npos);
  CHECK(own_reservation(view, "r-3").status().code() == "unknown_reservation");
}

TEST_CASE("outside a swarm (no origin) every record is this host's") {
  json::array records = {json::object{{"kind", "reservation"},
                                      {"id", "r-1"},
                                      {"active", true},
                                      {"effective_expires_at", nullptr},
                                      {"data", reservation_data("r-1", "agent-1")}}};
  ReservationView view = view_of_listed(records, {});
  REQUIRE(view.reservations.size() == 1);
  CHECK(view.reservations[0].local);
  CHECK(!view.reservations[0].effective_expiry);
}

TEST_CASE("the conflict warning names a remote holder's host and its time left") {
  ReservationView view = view_of_listed(kSwarm, {"here"});
  WallTime now = *parse_timestamp("2026-03-30T15:00:00+00:00");
  CHECK(held_warning("a.py::f", view.reservations[2], now) ==
        "⚠️  a.py::f is already held by agent-2 (reservation r-2, host there, 5m00s left)");
  CHECK(held_warning("a.py::f", view.reservations[0], now) ==
        "⚠️  a.py::f is already held by agent-1 (reservation r-1, 5m00s left)");
}
