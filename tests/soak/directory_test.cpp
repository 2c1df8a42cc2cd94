// The whole coordination directory deleted and re-created under a live
// subscription: every record is reported removed, then every record of the
// new tree added, and the subscriber's state ends equal to the disk.
#include <doctest/doctest.h>

#include <set>

#include "proto/kind.hpp"
#include "tests/lossless/subscriber.hpp"
#include "tests/soak/soak_fixture.hpp"

namespace coordd::soak {
namespace {

constexpr std::uint64_t kSyncTimeoutMs = 2'000;
constexpr auto kSyncDeadline = 8s;

// Writes `per_kind` records into every kind directory (creating it) and
// returns them as "kind/id", kind singular as events name it.
std::set<std::string> write_tree(const Workspace& ws, std::string_view prefix, int per_kind) {
  std::set<std::string> written;
  for (Kind kind : kAllKinds) {
    fs::create_directories(ws.coordination() / kind_dir(kind));
    for (int i = 0; i < per_kind; ++i) {
      std::string id = std::string(prefix) + "-" + std::to_string(i);
      integration::write_record_atomic(ws.coordination() / kind_dir(kind), id,
                                       {{"run_id", "run-a"}, {"generation", prefix}});
      written.insert(std::string(kind_name(kind)) + "/" + id);
    }
  }
  return written;
}

std::vector<std::string> listed(const std::set<std::string>& records) {
  return {records.begin(), records.end()};
}

// "kind/id" of every event of `type` that `subscriber` kept from line `from`
// on, sorted.
std::vector<std::string> records_with(const lossless::Subscriber& subscriber, std::size_t from,
                                      std::string_view type) {
  std::set<std::string> records;
  const std::vector<json::object>& lines = subscriber.lines();
  for (std::size_t i = from; i < lines.size(); ++i) {
    const json::object& line = lines[i];
    if (line.at("type") != "event" || line.at("event_type") != json::string_view(type)) continue;
    records.insert(std::string(line.at("kind").as_string()) + "/" +
                   std::string(line.at("id").as_string()));
  }
  return listed(records);
}

TEST_CASE(
    "deleting the coordination directory under a subscriber removes every record, and "
    "re-creating it adds every new record, ending equal to the disk") {
  Workspace ws;
  std::set<std::string> old_tree = write_tree(ws, "old", 4);
  DaemonProcess daemon(ws);
  lossless::Subscriber subscriber(ws.socket(), {});
  subscriber.keep_lines(true);
  REQUIRE_MESSAGE(subscriber.connect(), subscriber.error());
  REQUIRE(is_subscribed(subscriber.subscribe()));
  REQUIRE_MESSAGE(subscriber.sync(kSyncTimeoutMs, SteadyClock::now() + kSyncDeadline),
                  subscriber.error());
  REQUIRE(records_with(subscriber, 0, "snapshot") == listed(old_tree));

  std::size_t before_delete = subscriber.lines().size();
  fs::remove_all(ws.coordination());
  REQUIRE_MESSAGE(subscriber.sync(kSyncTimeoutMs, SteadyClock::now() + kSyncDeadline),
                  subscriber.error());
  CHECK(records_with(subscriber, before_delete, "removed") == listed(old_tree));
  CHECK(subscriber.checker().verify({}) == std::vector<std::string>{});

  std::size_t before_create = subscriber.lines().size();
  std::set<std::string> new_tree = write_tree(ws, "new", 3);
  for (const std::string& record : write_tree(ws, "old", 2)) new_tree.insert(record);
  REQUIRE_MESSAGE(subscriber.sync(kSyncTimeoutMs, SteadyClock::now() + kSyncDeadline),
                  subscriber.error());
  CHECK(records_with(subscriber, before_create, "added") == listed(new_tree));
  CHECK(subscriber.checker().verify(disk_records(ws)) == std::vector<std::string>{});
}

}  // namespace
}  // namespace coordd::soak
