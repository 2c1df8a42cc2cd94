// A full journal: with --journal-size 32 and 500 records written, a resume
// point from before them is gone; the resuming subscriber is told compacted
// and resyncs from a snapshot equal to the disk.
#include <doctest/doctest.h>

#include "tests/lossless/subscriber.hpp"
#include "tests/soak/soak_fixture.hpp"

namespace coordd::soak {
namespace {

constexpr int kRecords = 500;
constexpr std::uint64_t kJournalEvents = 32;

TEST_CASE(
    "a subscriber resuming from a seq the full journal has dropped is told compacted and "
    "resyncs to the disk") {
  Workspace ws;
  DaemonProcess daemon(ws, {"--journal-size", std::to_string(kJournalEvents)});
  EventReader probe = daemon.connect();
  lossless::Subscriber subscriber(ws.socket(), {});
  REQUIRE_MESSAGE(subscriber.connect(), subscriber.error());
  REQUIRE(is_subscribed(subscriber.subscribe()));
  REQUIRE_MESSAGE(subscriber.sync(2'000, SteadyClock::now() + 5s), subscriber.error());
  const std::uint64_t resume_point = subscriber.checker().resume_point();
  subscriber.disconnect();

  for (int i = 0; i < kRecords; ++i) {
    std::string id = "t-" + std::to_string(i);
    integration::write_record_atomic(ws.kind_dir("tasks"), id, {{"task_id", id}, {"n", i}});
  }
  REQUIRE(probe.call({{"op", "sync"}}).at("type") == "synced");
  json::object journal = status_of(probe).at("journal").as_object();
  std::optional<json::object> reply = subscriber.resume();

  CHECK(journal.at("events").to_number<std::uint64_t>() <= kJournalEvents);
  CHECK(journal.at("replayable_after_seq").to_number<std::uint64_t>() > resume_point);
  REQUIRE_MESSAGE(is_subscribed(reply), subscriber.error());
  CHECK(reply->at("resumed") == false);
  CHECK(reply->at("reason") == "compacted");
  REQUIRE_MESSAGE(subscriber.sync(2'000, SteadyClock::now() + 10s), subscriber.error());
  CHECK(subscriber.checker().resyncs() == 1);
  CHECK(subscriber.checker().state().at("tasks").size() == std::size_t(kRecords));
  CHECK(subscriber.checker().verify(disk_records(ws)) == std::vector<std::string>{});
}

}  // namespace
}  // namespace coordd::soak
