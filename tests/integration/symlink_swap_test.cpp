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
  std::vector<json::object> lines = reader.read_until(event_for("added", "last"), 20s);
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
