// Engine: leases leaving the active set publish one expired event with its cause.
#include <doctest/doctest.h>

#include "tests/unit/engine_fixture.hpp"

using namespace coordd;
using namespace coordd::testing;
using namespace std::chrono_literals;

TEST_CASE_FIXTURE(
    EngineFixture,
    "advance_clock past a reservation's expiry publishes one expired event with cause ttl") {
  start();
  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);
  CHECK(engine.next_deadline() == at("2026-03-30T15:10:00Z"));

  clock.advance(10min);
  engine.advance_clock();
  engine.advance_clock();

  CHECK(sink.summary() ==
        std::vector<std::string>{"added reservation/r1", "expired reservation/r1"});
  CHECK(text(sink.body(1), "cause") == "ttl");
  CHECK(text(sink.body(1), "timestamp") == "2026-03-30T15:10:00+00:00");
  CHECK(sink.body(1).at("data") == boost::json::parse(kReservationR1));
  CHECK_FALSE(engine.next_deadline().has_value());
}

TEST_CASE_FIXTURE(EngineFixture, "advance_clock before the expiry publishes nothing") {
  start();
  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);

  clock.advance(9min + 59s);
  engine.advance_clock();

  CHECK(sink.events.size() == 1);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "a release record publishes its added event, then expired with cause released") {
  start();
  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);

  write_and_notify(Kind::kRelease, "rel1.json", R"({"reservation_id":"r1","reason":"done"})");

  CHECK(sink.summary() == std::vector<std::string>{"added reservation/r1", "added release/rel1",
                                                   "expired reservation/r1"});
  CHECK(text(sink.body(2), "cause") == "released");
  CHECK_FALSE(sink.body(1).contains("cause"));
}

TEST_CASE_FIXTURE(
    EngineFixture,
    "deleting the heartbeat that kept a lease alive publishes removed, then expired by ttl") {
  start();
  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);
  write_and_notify(Kind::kHeartbeat, "hb1.json",
                   R"({"reservation_id":"r1","extended_expires_at":"2026-03-30T15:30:00+00:00"})");
  clock.advance(20min);
  engine.advance_clock();

  delete_and_notify(Kind::kHeartbeat, "hb1.json");

  CHECK(sink.summary() == std::vector<std::string>{"added reservation/r1", "added heartbeat/hb1",
                                                   "removed heartbeat/hb1",
                                                   "expired reservation/r1"});
  CHECK(text(sink.body(3), "cause") == "ttl");
}

TEST_CASE_FIXTURE(EngineFixture,
                  "a reservation deleted while active is removed and never reported expired") {
  start();
  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);

  delete_and_notify(Kind::kReservation, "r1.json");
  clock.advance(1h);
  engine.advance_clock();

  CHECK(sink.summary() ==
        std::vector<std::string>{"added reservation/r1", "removed reservation/r1"});
}

TEST_CASE_FIXTURE(EngineFixture,
                  "the deadline listener hears when a new lease changes the next deadline") {
  int calls = 0;
  engine.set_deadline_listener([&] { ++calls; });
  start();

  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);
  CHECK(calls == 1);
  write_and_notify(Kind::kTask, "t1.json", "{}");
  CHECK(calls == 1);
  clock.advance(10min);
  engine.advance_clock();
  CHECK(calls == 2);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "a claim rewritten without expires_at publishes modified, then one expired "
                  "with cause ttl") {
  start();
  write_and_notify(Kind::kClaim, "c1.json",
                   R"({"claim_id":"c1","expires_at":"2026-03-30T15:10:00+00:00"})");

  write_and_notify(Kind::kClaim, "c1.json", R"({"claim_id":"c1","task":"t7"})");
  clock.advance(1h);
  engine.advance_clock();

  CHECK(sink.summary() ==
        std::vector<std::string>{"added claim/c1", "modified claim/c1", "expired claim/c1"});
  CHECK(text(sink.body(2), "cause") == "ttl");
  CHECK(sink.body(2).at("data") == boost::json::parse(R"({"claim_id":"c1","task":"t7"})"));
}

TEST_CASE_FIXTURE(EngineFixture,
                  "removing one of two reservation files naming a lease publishes removed only, "
                  "and the other file's expiry still fires") {
  start();
  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);
  write_and_notify(Kind::kReservation, "copy.json",
                   R"({"reservation_id":"r1","expires_at":"2026-03-30T15:20:00+00:00"})");

  delete_and_notify(Kind::kReservation, "copy.json");
  clock.advance(10min);
  engine.advance_clock();

  CHECK(sink.summary() == std::vector<std::string>{"added reservation/r1", "added reservation/copy",
                                                   "removed reservation/copy",
                                                   "expired reservation/r1"});
  CHECK(text(sink.body(3), "cause") == "ttl");
}

TEST_CASE_FIXTURE(EngineFixture,
                  "unwatching a root publishes removed for each record and expires nothing") {
  start();
  write_and_notify(Kind::kClaim, "c1.json",
                   R"({"claim_id":"c1","expires_at":"2026-03-30T15:10:00+00:00"})");
  write_and_notify(Kind::kHeartbeat, "hb1.json",
                   R"({"claim_id":"c1","extended_expires_at":"2026-03-30T15:30:00+00:00"})");
  clock.advance(15min);
  engine.advance_clock();

  engine.remove_root(root);

  CHECK(sorted(sink.summary()) == sorted({"added claim/c1", "added heartbeat/hb1",
                                          "removed claim/c1", "removed heartbeat/hb1"}));
}
