// The directory layout changing under a running daemon, and the layout it
// refuses: a coordination directory made late, a kind directory deleted and
// re-created, a symlinked coordination directory.
#include <doctest/doctest.h>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::integration {
namespace {

const json::object kTask{{"task_id", "t1"}, {"title", "write the parser"}};

TEST_CASE("a coordination directory created after the daemon starts is picked up") {
  Workspace ws(Workspace::Layout::kEmptyRepo);
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();

  fs::create_directories(ws.kind_dir("tasks"));
  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);

  json::object added = reader.read_until(event_for("added", "t1")).back();
  CHECK(added.at("data") == kTask);
}

TEST_CASE("a kind directory deleted and re-created reports its records removed, then added") {
  if (polling_backend()) {
    MESSAGE(
        "skipped under --backend poll: a change undone between two scans is invisible to a poller");
    return;
  }
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();

  fs::remove_all(ws.kind_dir("tasks"));
  fs::create_directory(ws.kind_dir("tasks"));
  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);

  auto lines = reader.read_until(event_for("added", "t1"));
  auto events = events_of_type(lines);
  REQUIRE(events.size() == 2);
  CHECK(events.at(0).at("event_type") == "removed");
  CHECK(events.at(0).at("data") == kTask);
  CHECK(events.at(1).at("data") == kTask);
}

// Makes <repo>/.muse/coordination a symlink to a real directory elsewhere.
void symlink_coordination(const Workspace& ws) {
  fs::create_directories(ws.scratch("elsewhere") / "tasks");
  fs::create_directory(ws.repo() / ".muse");
  fs::create_directory_symlink(ws.scratch("elsewhere"), ws.coordination());
}

TEST_CASE("a symlinked .muse/coordination is refused at startup, naming the symlink") {
  Workspace ws(Workspace::Layout::kEmptyRepo);
  symlink_coordination(ws);

  DaemonExit exit = DaemonProcess::run_expecting_exit(ws);

  CHECK(exit.code == 1);
  INFO(exit.log);
  CHECK(exit.log.find(ws.coordination().string() + " is a symlink") != std::string::npos);
}

TEST_CASE("a coordd that refuses to start after binding its socket leaves no socket behind") {
  Workspace ws(Workspace::Layout::kEmptyRepo);
  symlink_coordination(ws);

  DaemonExit exit = DaemonProcess::run_expecting_exit(ws);

  REQUIRE(exit.code == 1);
  CHECK(!fs::exists(fs::symlink_status(ws.socket())));
}

}  // namespace
}  // namespace coordd::integration
