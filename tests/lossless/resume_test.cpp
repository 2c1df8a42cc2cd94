// Resume: a subscriber that reconnects with since {epoch, last seq} gets every
// event after it, in order, with no snapshot; one whose seq the journal no
// longer holds, or whose daemon restarted, is refused (compacted,
// epoch_changed) and gets a full snapshot marked resync; a seq the daemon
// never reached is a bad request.
#include <doctest/doctest.h>

#include <optional>
#include <random>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/lossless/subscriber.hpp"

namespace coordd::lossless {
namespace {

using integration::DaemonProcess;
using integration::Workspace;
using namespace std::chrono_literals;

constexpr auto kReadTimeout = 5s;

json::object task(std::string_view id, int revision) {
  return {{"task_id", id}, {"title", "resume"}, {"revision", revision}};
}

void write_task(const Workspace& ws, const std::string& id, int revision = 1) {
  integration::write_record_atomic(ws.kind_dir("tasks"), id, task(id, revision));
}

bool is_event(const json::object& line) { return line.at("type") == "event"; }

// Reads until `count` more events have arrived; returns the last line read.
json::object read_events(Subscriber& subscriber, std::size_t count) {
  std::size_t seen = 0;
  json::object last;
  bool done = subscriber.read_until(
      [&](const json::object& line) {
        last = line;
        return is_event(line) && ++seen == count;
      },
      SteadyClock::now() + kReadTimeout);
  REQUIRE_MESSAGE(done, "waiting for " << count << " events: " << subscriber.error());
  return last;
}

// Reads through the snapshot_end of the current subscription.
std::vector<json::object> read_snapshot(Subscriber& subscriber) {
  std::vector<json::object> snapshot;
  bool done = subscriber.read_until(
      [&](const json::object& line) {
        snapshot.push_back(line);
        return line.at("type") == "snapshot_end";
      },
      SteadyClock::now() + kReadTimeout);
  REQUIRE_MESSAGE(done, "waiting for snapshot_end: " << subscriber.error());
  return snapshot;
}

void sync(Subscriber& subscriber) {
  REQUIRE_MESSAGE(subscriber.sync(5'000, SteadyClock::now() + 10s), subscriber.error());
}

// The subscriber's stream passes the checker against everything on disk.
void check_equals_disk(const Workspace& ws, const Subscriber& subscriber) {
  std::vector<std::string> problems;
  RecordsByKind disk = read_records(ws.coordination(), problems);
  REQUIRE(problems == std::vector<std::string>{});
  CHECK(subscriber.checker().verify(disk) == std::vector<std::string>{});
}

TEST_CASE(
    "a subscriber resuming with since gets the very next seq first, at any disconnect point") {
  Workspace ws;
  DaemonProcess daemon(ws);
  Subscriber subscriber(ws.socket(), {});
  REQUIRE(subscriber.connect());
  REQUIRE(subscriber.subscribe()->at("type") == "subscribed");
  read_snapshot(subscriber);
  std::uint32_t seed = std::random_device{}();
  INFO("disconnect points drawn with seed " << seed);
  std::mt19937 random(seed);

  for (int round = 0; round < 6; ++round) {
    constexpr int kWrites = 30;
    for (int i = 0; i < kWrites; ++i)
      write_task(ws, "r" + std::to_string(round) + "-" + std::to_string(i));
    if (round > 0)
      integration::remove_record(ws.kind_dir("tasks"), "r" + std::to_string(round - 1) + "-0");
    std::size_t read_before_drop = 1 + random() % (kWrites - 1);
    read_events(subscriber, read_before_drop);
    std::uint64_t last = subscriber.checker().resume_point();

    std::optional<json::object> reply = subscriber.resume();

    REQUIRE(reply);
    CHECK(reply->at("type") == "subscribed");
    CHECK(reply->at("resumed") == true);
    json::object first = read_events(subscriber, 1);
    CHECK(first.at("seq").to_number<std::uint64_t>() == last + 1);
    sync(subscriber);
  }
  check_equals_disk(ws, subscriber);
  CHECK(subscriber.checker().resumes() == 6);
}

TEST_CASE(
    "resuming from a seq the journal has dropped is refused as compacted, with a resync snapshot") {
  Workspace ws;
  DaemonProcess daemon(ws, {"--journal-size", "16"});
  Subscriber subscriber(ws.socket(), {});
  REQUIRE(subscriber.connect());
  REQUIRE(subscriber.subscribe()->at("type") == "subscribed");
  read_snapshot(subscriber);
  subscriber.disconnect();
  for (int i = 0; i < 100; ++i) write_task(ws, "t" + std::to_string(i));
  Subscriber writer_sync(ws.socket(), {});
  REQUIRE(writer_sync.connect());
  sync(writer_sync);  // all 100 published, so the journal has moved past the resume point

  std::optional<json::object> reply = subscriber.resume();

  REQUIRE(reply);
  CHECK(reply->at("type") == "subscribed");
  CHECK(reply->at("resumed") == false);
  CHECK(reply->at("reason") == "compacted");
  std::vector<json::object> snapshot = read_snapshot(subscriber);
  CHECK(integration::events_of_type(snapshot, "snapshot").size() == 100);
  CHECK(snapshot.back().at("resync") == true);
  sync(subscriber);
  check_equals_disk(ws, subscriber);
}

TEST_CASE(
    "resuming after the daemon restarted is refused as epoch_changed, with a resync snapshot") {
  Workspace ws;
  std::optional<DaemonProcess> daemon;
  daemon.emplace(ws);
  Subscriber subscriber(ws.socket(), {});
  REQUIRE(subscriber.connect());
  REQUIRE(subscriber.subscribe()->at("type") == "subscribed");
  read_snapshot(subscriber);
  for (int i = 0; i < 20; ++i) write_task(ws, "t" + std::to_string(i));
  sync(subscriber);
  std::string old_epoch = subscriber.epoch();
  subscriber.disconnect();
  REQUIRE(daemon->terminate() == 0);
  daemon.reset();
  for (int i = 0; i < 5; ++i)
    integration::remove_record(ws.kind_dir("tasks"), "t" + std::to_string(i));
  for (int i = 5; i < 10; ++i) write_task(ws, "t" + std::to_string(i), 2);
  daemon.emplace(ws);

  std::optional<json::object> reply = subscriber.resume();

  REQUIRE(reply);
  CHECK(subscriber.epoch() != old_epoch);
  CHECK(reply->at("resumed") == false);
  CHECK(reply->at("reason") == "epoch_changed");
  std::vector<json::object> snapshot = read_snapshot(subscriber);
  CHECK(integration::events_of_type(snapshot, "snapshot").size() == 15);
  CHECK(snapshot.back().at("resync") == true);
  sync(subscriber);
  check_equals_disk(ws, subscriber);
}

TEST_CASE("a since seq beyond the daemon's last seq is refused with bad_field") {
  Workspace ws;
  write_task(ws, "t1");
  DaemonProcess daemon(ws);
  Subscriber subscriber(ws.socket(), {});
  REQUIRE(subscriber.connect());

  std::optional<json::object> reply = subscriber.subscribe(Since{subscriber.epoch(), 1'000});

  REQUIRE(reply);
  CHECK(reply->at("type") == "error");
  CHECK(reply->at("code") == "bad_field");
}

}  // namespace
}  // namespace coordd::lossless
