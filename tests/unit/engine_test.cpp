// Engine: record changes become sequenced events; matching and snapshots.
#include <doctest/doctest.h>

#include "tests/unit/engine_fixture.hpp"

using namespace coordd;
using namespace coordd::testing;

TEST_CASE_FIXTURE(EngineFixture,
                  "a new record file publishes one added event carrying the record's data") {
  start();

  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);

  REQUIRE(sink.events.size() == 1);
  CHECK(sink.events[0]->kind == Kind::kReservation);
  CHECK(sink.events[0]->run_id == "run-1");
  boost::json::object body = sink.body(0);
  CHECK(text(body, "event_type") == "added");
  CHECK(text(body, "kind") == "reservation");
  CHECK(text(body, "id") == "r1");
  CHECK(text(body, "root") == "/repo");
  CHECK(text(body, "timestamp") == "2026-03-30T15:00:00+00:00");
  CHECK(text(body, "schema_version") == "1");
  CHECK(body.at("data") == boost::json::parse(kReservationR1));
  CHECK(engine.counters().events_emitted == 1);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "rewriting a record with the same content, even reformatted, publishes nothing") {
  start();
  write_and_notify(Kind::kTask, "t1.json", R"({"title":"a","n":1})");

  write_and_notify(Kind::kTask, "t1.json", R"({"title":"a","n":1})");
  write_and_notify(Kind::kTask, "t1.json", "{ \"title\" : \"a\",\n  \"n\" : 1 }\n");

  CHECK(sink.summary() == std::vector<std::string>{"added task/t1"});
}

TEST_CASE_FIXTURE(EngineFixture, "changed content publishes modified with the new data") {
  start();
  write_and_notify(Kind::kTask, "t1.json", R"({"title":"a"})");

  write_and_notify(Kind::kTask, "t1.json", R"({"title":"b"})");

  CHECK(sink.summary() == std::vector<std::string>{"added task/t1", "modified task/t1"});
  CHECK(sink.body(1).at("data") == boost::json::parse(R"({"title":"b"})"));
}

TEST_CASE_FIXTURE(EngineFixture, "a deleted record publishes removed carrying its last data") {
  start();
  write_and_notify(Kind::kTask, "t1.json", R"({"title":"last"})");

  delete_and_notify(Kind::kTask, "t1.json");

  CHECK(sink.summary() == std::vector<std::string>{"added task/t1", "removed task/t1"});
  CHECK(sink.body(1).at("data") == boost::json::parse(R"({"title":"last"})"));
  CHECK(stored(Kind::kTask, "t1") == nullptr);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "a change notice for a file that is already gone reports the record removed") {
  start();
  write_and_notify(Kind::kTask, "t1.json", R"({"title":"a"})");
  fs.remove_file(path(Kind::kTask, "t1.json"));

  engine.on_file_changed(root, Kind::kTask, "t1.json");

  CHECK(sink.summary() == std::vector<std::string>{"added task/t1", "removed task/t1"});
}

TEST_CASE_FIXTURE(
    EngineFixture,
    "a record that turns into invalid JSON keeps its last good data and publishes nothing") {
  start();
  write_and_notify(Kind::kTask, "t1.json", R"({"title":"good"})");

  write_and_notify(Kind::kTask, "t1.json", R"({"title":"trunc)");

  CHECK(sink.events.size() == 1);
  REQUIRE(stored(Kind::kTask, "t1") != nullptr);
  CHECK(stored(Kind::kTask, "t1")->data_json() == R"({"title":"good"})");
  CHECK(engine.counters().bad_files_skipped == 1);
  CHECK(engine.bad_file_count() == 1);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "a record deleted while invalid is removed with its last good data") {
  start();
  write_and_notify(Kind::kTask, "t1.json", R"({"title":"good"})");
  write_and_notify(Kind::kTask, "t1.json", "[1,2,3]");

  delete_and_notify(Kind::kTask, "t1.json");

  CHECK(sink.summary() == std::vector<std::string>{"added task/t1", "removed task/t1"});
  CHECK(sink.body(1).at("data") == boost::json::parse(R"({"title":"good"})"));
  CHECK(engine.bad_file_count() == 0);
}

TEST_CASE_FIXTURE(EngineFixture, "a bad file that is fixed is no longer counted as bad") {
  start();
  write_and_notify(Kind::kTask, "t1.json", "not json");
  CHECK(engine.bad_file_count() == 1);

  write_and_notify(Kind::kTask, "t1.json", R"({"title":"fixed"})");

  CHECK(engine.bad_file_count() == 0);
  CHECK(engine.counters().bad_files_skipped == 1);
  CHECK(sink.summary() == std::vector<std::string>{"added task/t1"});
}

TEST_CASE_FIXTURE(EngineFixture,
                  "seq strictly increases across events and matches the event and its body") {
  start();
  write_and_notify(Kind::kTask, "t1.json", R"({"v":1})");
  write_and_notify(Kind::kTask, "t2.json", R"({"v":1})");
  write_and_notify(Kind::kTask, "t1.json", R"({"v":2})");
  delete_and_notify(Kind::kTask, "t2.json");

  REQUIRE(sink.events.size() == 4);
  for (std::size_t i = 0; i < sink.events.size(); ++i) {
    CHECK(sink.body(i).at("seq").to_number<std::uint64_t>() == sink.events[i]->seq);
    if (i > 0) CHECK(sink.events[i]->seq > sink.events[i - 1]->seq);
  }
  CHECK(engine.last_seq() == sink.events.back()->seq);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "matching returns records in ascending seq order of their last change") {
  start();
  write_and_notify(Kind::kTask, "a.json", R"({"v":1})");
  write_and_notify(Kind::kTask, "b.json", R"({"v":1})");
  write_and_notify(Kind::kIntent, "c.json", R"({"v":1})");

  write_and_notify(Kind::kTask, "a.json", R"({"v":2})");

  CHECK(ids_matching(EventFilter{}) == std::vector<std::string>{"b", "c", "a"});
}

TEST_CASE_FIXTURE(EngineFixture, "matching honours kinds, run_id and branch, combined with AND") {
  start();
  write_and_notify(Kind::kIntent, "i1.json", R"({"run_id":"run-1","branch":"main"})");
  write_and_notify(Kind::kIntent, "i2.json", R"({"run_id":"run-2","branch":"main"})");
  write_and_notify(Kind::kTask, "t1.json", R"({"run_id":"run-1","branch":"dev"})");
  EventFilter intents;
  intents.kinds.add(Kind::kIntent);
  EventFilter run_1;
  run_1.run_id = "run-1";
  EventFilter main_run_1 = run_1;
  main_run_1.branch = "main";

  CHECK(ids_matching(intents) == std::vector<std::string>{"i1", "i2"});
  CHECK(ids_matching(run_1) == std::vector<std::string>{"i1", "t1"});
  CHECK(ids_matching(main_run_1) == std::vector<std::string>{"i1"});
}

TEST_CASE_FIXTURE(EngineFixture, "matching with active_only returns only active leases") {
  start();
  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);
  write_and_notify(Kind::kReservation, "old.json",
                   R"({"reservation_id":"old","expires_at":"2026-03-30T14:00:00+00:00"})");
  write_and_notify(Kind::kTask, "t1.json", "{}");

  CHECK(ids_matching(EventFilter{}, true) == std::vector<std::string>{"r1"});
  CHECK(ids_matching(EventFilter{}, false).size() == 3);
}

TEST_CASE_FIXTURE(
    EngineFixture,
    "a snapshot body carries event_type snapshot and the seq of the record's last change") {
  start();
  write_and_notify(Kind::kTask, "t1.json", R"({"v":1})");
  write_and_notify(Kind::kTask, "t2.json", R"({"v":1})");
  const Record* t1 = stored(Kind::kTask, "t1");
  REQUIRE(t1 != nullptr);

  boost::json::object body =
      RecordingSink::parse_body(engine.snapshot_body(RecordRef{root, Kind::kTask, "t1"}, *t1));

  CHECK(text(body, "event_type") == "snapshot");
  CHECK(body.at("seq").to_number<std::uint64_t>() == sink.events[0]->seq);
  CHECK(text(body, "id") == "t1");
  CHECK(body.at("data") == boost::json::parse(R"({"v":1})"));
  CHECK_FALSE(body.contains("cause"));
}
