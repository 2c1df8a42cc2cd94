// The bad-file directory: files a record directory may hold that are not
// records. Each is skipped and counted in status; the daemon keeps serving.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::integration {
namespace {

constexpr int kBadFiles = 6;
const json::object kGood{{"task_id", "good"}};

void make_fifo(const fs::path& path) {
  REQUIRE_MESSAGE(::mkfifo(path.c_str(), 0644) == 0, "mkfifo " << path);
}

// Puts the six bad files in `dir`. The FIFO and the symlink are made under a
// dot name and renamed into place, as every other file arrives.
void plant_bad_files(const fs::path& dir) {
  write_file_in_place(dir / "corrupt.json", "{\"task_id\": \"corrupt\", ");
  write_file_atomic(dir / "big.json",
                    "{\"task_id\": \"big\", \"blob\": \"" + std::string(5 << 20, 'x') + "\"}");
  make_fifo(dir / ".x.tmp");
  fs::rename(dir / ".x.tmp", dir / "x.json");
  fs::create_symlink("/etc/passwd", dir / ".y.tmp");
  fs::rename(dir / ".y.tmp", dir / "y.json");
  write_file_in_place(dir / "\x1b[31mevil.json", "{\"task_id\": \"evil\"}");
  write_file_in_place(dir / "a..b.json", "{\"task_id\": \"a..b\"}");
}

std::vector<std::string> listed_ids(EventReader& reader) {
  json::object list = reader.call({{"op", "list"}});
  std::vector<std::string> ids;
  for (const json::value& record : list.at("records").as_array()) {
    ids.emplace_back(record.at("id").as_string());
  }
  return ids;
}

TEST_CASE("bad files found by the initial scan are skipped and counted, and the daemon serves on") {
  Workspace ws;
  plant_bad_files(ws.kind_dir("tasks"));
  write_record_atomic(ws.kind_dir("tasks"), "good", kGood);
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();

  json::object status = reader.call({{"op", "status"}});
  CHECK(status.at("bad_files_skipped") == kBadFiles);
  CHECK(status.at("bad_files") == kBadFiles);
  CHECK(listed_ids(reader) == std::vector<std::string>{"good"});
  CHECK(reader.call({{"op", "ping"}}).at("type") == "pong");
  reader.subscribe();
  write_record_atomic(ws.kind_dir("tasks"), "after", kGood);
  reader.read_until(event_for("added", "after"));
}

TEST_CASE("bad files written while the daemon runs are skipped and counted, and it serves on") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();

  plant_bad_files(ws.kind_dir("tasks"));
  write_record_atomic(ws.kind_dir("tasks"), "good", kGood);
  auto lines = reader.read_until(event_for("added", "good"));

  CHECK(ids_of(events_of_type(lines)) == std::vector<std::string>{"good"});
  json::object status = reader.call({{"op", "status"}});
  CHECK(status.at("bad_files_skipped") == kBadFiles);
  CHECK(status.at("bad_files") == kBadFiles);
  CHECK(listed_ids(reader) == std::vector<std::string>{"good"});
  CHECK(reader.call({{"op", "ping"}}).at("type") == "pong");
}

TEST_CASE("a FIFO and a symlink created in place while the daemon runs are skipped and counted") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();

  make_fifo(ws.kind_dir("tasks") / "x.json");
  fs::create_symlink("/etc/passwd", ws.kind_dir("tasks") / "y.json");
  write_record_atomic(ws.kind_dir("tasks"), "good", kGood);
  reader.read_until(event_for("added", "good"));

  json::object status = reader.call({{"op", "status"}});
  CHECK(status.at("bad_files_skipped") == 2);
  CHECK(status.at("bad_files") == 2);
}

}  // namespace
}  // namespace coordd::integration
