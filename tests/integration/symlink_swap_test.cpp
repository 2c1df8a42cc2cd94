// An attacker who can write the repository swaps a record directory for a
// symlink to a directory of their own, at the moment coordd reads a record
// it was just told about. Whatever the timing, coordd never reads through
// the link: nothing from behind it is ever published, and once the real
// directory is back its records are served again.
#include <doctest/doctest.h>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::integration {
namespace {

constexpr int kSwaps = 150;

bool mentions_secret(const json::object& line) {
  return json::serialize(line).find("secret") != std::string::npos;
}

}  // namespace

TEST_CASE(
    "a record directory swapped for a symlink, again and again, never publishes what it points "
    "at") {
  Workspace ws;
  fs::path kind = ws.kind_dir("reservations");
  fs::path real = ws.scratch("reservations.real");
  fs::path outside = ws.scratch("outside");
  fs::create_directories(outside);
  for (int i = 0; i < kSwaps; ++i) {
    write_record_atomic(outside, "r-" + std::to_string(i), {{"secret", true}});
  }
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();

  for (int i = 0; i < kSwaps; ++i) {
    // A legitimate write (coordd is told of r-i) and, at once, the swap.
    write_record_atomic(kind, "r-" + std::to_string(i),
                        {{"reservation_id", "r-" + std::to_string(i)}});
    fs::rename(kind, real);
    fs::create_directory_symlink(outside, kind);
    fs::remove(kind);
    fs::rename(real, kind);
  }
  write_record_atomic(kind, "last", {{"reservation_id", "last"}});
  // Each swap rescans every record out and back in: a burst of ~20k events
  // that a slow reader (a loaded machine) may fall behind, and then coordd
  // drops some and says `lagged` -- possibly dropping "last" itself. Either
  // way, what was published is checked, and the list below shows the rest.
  LinePattern caught_up{"an 'added' event for 'last', or a lagged marker",
                        [](const json::object& line) {
                          return line.at("type") == "lagged" ||
                                 (line.at("type") == "event" && line.at("event_type") == "added" &&
                                  line.at("id") == "last");
                        }};
  std::vector<json::object> lines = reader.read_until(caught_up, 20s);
  json::object synced = reader.call({{"op", "sync"}});
  CHECK(synced.at("type") == "synced");
  json::object list = reader.call({{"op", "list"}});
  lines.push_back(list);
  for (const json::object& line : lines) {
    CHECK_MESSAGE(!mentions_secret(line),
                  "published from behind the symlink: " << json::serialize(line));
  }
  // The real directory's records are all there once it is back.
  CHECK(list.at("records").as_array().size() == std::size_t(kSwaps + 1));
}

}  // namespace coordd::integration

namespace coordd::integration {

TEST_CASE("coordd refuses to start on a repository whose .muse is a symlink, and says why") {
  Workspace ws;
  fs::rename(ws.repo() / ".muse", ws.scratch("elsewhere"));
  fs::create_directory_symlink(ws.scratch("elsewhere"), ws.repo() / ".muse");
  DaemonExit exit = DaemonProcess::run_expecting_exit(ws);
  CHECK(exit.code != 0);
  CHECK(exit.log.find(".muse is a symlink; refusing to watch") != std::string::npos);
}

TEST_CASE("watch_root refuses a repository whose coordination directory is a symlink") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  fs::path other = ws.scratch("other");
  fs::create_directories(other / ".muse");
  fs::create_directories(ws.scratch("coordination-elsewhere"));
  fs::create_directory_symlink(ws.scratch("coordination-elsewhere"), other / ".muse/coordination");
  json::object reply = reader.call({{"op", "watch_root"}, {"path", other.string()}});
  CHECK(reply.at("type") == "error");
  CHECK(reply.at("code") == "bad_root");
  CHECK(std::string(reply.at("message").as_string()).find("coordination is a symlink") !=
        std::string::npos);
  CHECK(reader.call({{"op", "status"}}).at("roots").as_array().size() == 1);
}

TEST_CASE("a root named twice, once through a symlink, is watched once") {
  Workspace ws;
  fs::create_directory_symlink(ws.repo(), ws.scratch("link-to-repo"));
  DaemonProcess daemon(ws, {"--root", ws.scratch("link-to-repo").string()});
  EventReader reader = daemon.connect();
  CHECK(reader.call({{"op", "status"}}).at("roots").as_array().size() == 1);
  reader.subscribe();
  write_record_atomic(ws.kind_dir("tasks"), "t-1", {{"task_id", "t-1"}});
  // And that one root is watched.
  reader.read_until(event_for("added", "t-1"));
}

}  // namespace coordd::integration
