// Records written, rewritten and deleted on disk reach a subscriber as the
// exact events issue 2 names: snapshot, added, modified, removed.
#include <doctest/doctest.h>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::integration {
namespace {

const json::object kTask{{"task_id", "t1"}, {"title", "write the parser"}};
const json::object kTaskRetitled{{"task_id", "t1"}, {"title", "write the parser, with tests"}};

TEST_CASE(
    "a subscriber gets a snapshot of existing records, then snapshot_end with the seq from "
    "subscribed") {
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);
  write_record_atomic(ws.kind_dir("intents"), "i1", json::object{{"intent_id", "i1"}});
  DaemonProcess daemon(ws);

  Subscribed subscribed = daemon.connect().subscribe();

  REQUIRE(subscribed.snapshot.size() == 2);
  for (const json::object& event : subscribed.snapshot) {
    CHECK(event.at("event_type") == "snapshot");
    CHECK(event.at("sub") == subscribed.sub);
    CHECK(event.at("schema_version") == "1");
    CHECK(event.at("root") == ws.repo().c_str());
    CHECK(event.at("seq").to_number<std::uint64_t>() <= subscribed.seq);
  }
  json::object task = with_id(subscribed.snapshot, "t1");
  CHECK(task.at("kind") == "task");
  CHECK(with_id(subscribed.snapshot, "i1").at("kind") == "intent");
  CHECK(task.at("data") == kTask);
  CHECK(subscribed.end.at("seq") == subscribed.seq);
}

TEST_CASE("a record renamed into place reaches a subscriber as added, well within a second") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();
  fs::path staged = ws.kind_dir("tasks") / ".t1.tmp";
  write_file_in_place(staged, json::serialize(kTask));

  auto renamed_at = std::chrono::steady_clock::now();
  fs::rename(staged, ws.kind_dir("tasks") / "t1.json");
  json::object added = reader.read_until(event_for("added", "t1")).back();
  auto latency = std::chrono::steady_clock::now() - renamed_at;

  MESSAGE("rename -> added event read: "
          << std::chrono::duration<double, std::micro>(latency).count() << " us");
  CHECK(latency < 1s);
  CHECK(added.at("kind") == "task");
  CHECK(added.at("data") == kTask);
}

TEST_CASE("a temp file that is never renamed holds the daemon up no longer than --temp-spin-us") {
  Workspace ws;
  DaemonProcess daemon(ws, {"--temp-spin-us", "100000"});  // the largest allowed: 0.1 s
  EventReader reader = daemon.connect();
  reader.subscribe();

  auto created_at = std::chrono::steady_clock::now();
  write_file_in_place(ws.kind_dir("tasks") / ".abandoned.tmp", "{}");
  reader.call({{"op", "ping"}});
  auto answered_after = std::chrono::steady_clock::now() - created_at;

  MESSAGE("temp file created -> ping answered: "
          << std::chrono::duration<double, std::milli>(answered_after).count() << " ms");
  CHECK(answered_after < 1s);
  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);
  CHECK(reader.read_until(event_for("added", "t1")).back().at("data") == kTask);
}

TEST_CASE("with the temp-file spin off, renamed records still arrive") {
  Workspace ws;
  DaemonProcess daemon(ws, {"--temp-spin-us", "0"});
  EventReader reader = daemon.connect();
  reader.subscribe();

  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);

  CHECK(reader.read_until(event_for("added", "t1")).back().at("data") == kTask);
}

TEST_CASE("an in-place write is modified, and rewriting the same content emits nothing") {
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();

  write_record_in_place(ws.kind_dir("tasks"), "t1", kTaskRetitled);
  json::object modified = reader.read_until(event_for("modified", "t1")).back();
  CHECK(modified.at("data") == kTaskRetitled);

  write_record_in_place(ws.kind_dir("tasks"), "t1", kTaskRetitled);
  write_record_atomic(ws.kind_dir("tasks"), "marker", json::object{{"task_id", "marker"}});
  auto lines = reader.read_until(line_of_type("event"));
  CHECK(ids_of(lines) == std::vector<std::string>{"marker"});
  CHECK(lines.back().at("event_type") == "added");
}

TEST_CASE("a deleted record is removed, carrying its last known data") {
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();
  write_record_in_place(ws.kind_dir("tasks"), "t1", kTaskRetitled);
  reader.read_until(event_for("modified", "t1"));

  remove_record(ws.kind_dir("tasks"), "t1");

  json::object removed = reader.read_until(event_for("removed", "t1")).back();
  CHECK(removed.at("kind") == "task");
  CHECK(removed.at("data") == kTaskRetitled);
}

TEST_CASE("a record that turns invalid keeps its last good data") {
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();

  write_record_in_place(ws.kind_dir("tasks"), "t1", std::string_view("{\"task_id\": \"t1\", "));
  write_record_atomic(ws.kind_dir("tasks"), "marker", json::object{{"task_id", "marker"}});
  auto lines = reader.read_until(event_for("added", "marker"));

  CHECK(ids_of(events_of_type(lines)) == std::vector<std::string>{"marker"});
  json::object list = reader.call({{"op", "list"}, {"kinds", "task"}});
  json::array records = list.at("records").as_array();
  REQUIRE(records.size() == 2);
  CHECK(records.at(0).at("id") == "t1");
  CHECK(records.at(0).at("data") == kTask);
  CHECK(reader.call({{"op", "status"}}).at("bad_files_skipped") == 1);
}

TEST_CASE("a record hard-linked into place reaches a subscriber as added") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();
  fs::path outside = ws.scratch("t1.json");
  write_file_in_place(outside, json::serialize(kTask));

  fs::create_hard_link(outside, ws.kind_dir("tasks") / "t1.json");

  json::object added = reader.read_until(event_for("added", "t1")).back();
  CHECK(added.at("data") == kTask);
}

}  // namespace
}  // namespace coordd::integration
