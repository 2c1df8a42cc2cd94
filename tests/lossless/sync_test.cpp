// Sync: `synced{seq}` is a bookmark. When it arrives, every change written
// before the sync was sent has been delivered on that connection (before the
// synced line) and shows in a following list; and it never falls below an
// event delivered before it, so it is a safe resume point.
#include <doctest/doctest.h>
#include <unistd.h>

#include <set>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/lossless/churn_writer.hpp"
#include "tests/lossless/daemon_log.hpp"
#include "tests/lossless/daemon_pause.hpp"
#include "tests/lossless/inotify_queue_limit.hpp"
#include "tests/lossless/subscriber.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::lossless {
namespace {

using integration::DaemonProcess;
using integration::Workspace;
using namespace std::chrono_literals;

json::object intent(std::string_view id) {
  return {{"intent_id", id}, {"run_id", "run-1"}, {"branch", "main"}, {"path", "src/a.py"}};
}

std::string burst_id(int i) { return "burst-" + std::to_string(i); }

TEST_CASE(
    "after a burst of 500 records, synced follows every one of their events and list shows them "
    "all") {
  Workspace ws;
  DaemonProcess daemon(ws);
  Subscriber subscriber(ws.socket(), {});
  subscriber.keep_lines(true);
  REQUIRE(subscriber.connect());
  REQUIRE(subscriber.subscribe()->at("type") == "subscribed");
  for (int i = 0; i < 500; ++i) {
    // Half renamed into place, half created and written in place.
    if (i % 2 == 0) {
      integration::write_record_atomic(ws.kind_dir("intents"), burst_id(i), intent(burst_id(i)));
    } else {
      integration::write_record_in_place(ws.kind_dir("intents"), burst_id(i), intent(burst_id(i)));
    }
  }

  std::optional<std::uint64_t> synced = subscriber.sync(10'000, SteadyClock::now() + 10s);

  REQUIRE_MESSAGE(synced, subscriber.error());
  std::set<std::string> delivered;
  for (const json::object& event : integration::events_of_type(subscriber.lines())) {
    delivered.emplace(event.at("id").as_string());
    CHECK(event.at("seq").to_number<std::uint64_t>() <= *synced);
  }
  std::set<std::string> listed;
  auto list = subscriber.request({{"op", "list"}, {"kinds", "intent"}}, SteadyClock::now() + 5s);
  REQUIRE(list);
  for (const json::value& record : list->at("records").as_array()) {
    listed.emplace(record.at("id").as_string());
  }
  std::set<std::string> written;
  for (int i = 0; i < 500; ++i) written.insert(burst_id(i));
  CHECK(delivered == written);
  CHECK(listed == written);
  std::vector<std::string> problems;
  CHECK(subscriber.checker().verify(read_records(ws.coordination(), problems)) ==
        std::vector<std::string>{});
}

TEST_CASE(
    "a synced bookmark never falls below an event delivered before it, even while catching up") {
  // A small queue keeps the big snapshot from being queued in one go, so the
  // subscription is still catching up when its sync completes.
  Workspace ws;
  for (int i = 0; i < 2'000; ++i) {
    integration::write_record_atomic(ws.kind_dir("intents"), burst_id(i), intent(burst_id(i)));
  }
  DaemonProcess daemon(ws, {"--queue-max-events", "64"});
  // Subscribe and sync in one packet, and read nothing yet: the daemon
  // handles both in one go, so the barrier starts before anything below.
  CoordClient raw;
  REQUIRE(raw.connect(ws.socket().string()));
  REQUIRE(raw.send_line("{\"op\":\"subscribe\",\"req\":\"s\"}\n{\"op\":\"sync\",\"req\":\"b\"}",
                        deadline_in(5s)) == CoordClient::Status::kOk);
  Subscriber other(ws.socket(), {});
  REQUIRE(other.connect());
  auto subscribed = [&] {
    auto status = other.request({{"op", "status"}}, SteadyClock::now() + 5s);
    return status && status->at("subscriptions") == 1;
  };
  REQUIRE_MESSAGE(support::poll_until(5s, subscribed), "the subscribe was never handled");
  REQUIRE(other.sync(5'000, SteadyClock::now() + 10s));  // its cookie follows the first one
  integration::write_record_atomic(ws.kind_dir("intents"), "late", intent("late"));
  REQUIRE(other.sync(5'000, SteadyClock::now() + 10s));  // "late" is published

  StreamChecker checker;
  std::optional<std::uint64_t> bookmark;
  std::uint64_t highest_event = 0;
  for (auto deadline = SteadyClock::now() + 10s; !bookmark;) {
    std::string text;
    REQUIRE(raw.read_line(text, deadline) == CoordClient::Status::kOk);
    json::object line = json::parse(text).as_object();
    checker.receive(line);
    if (line.at("type") == "event") highest_event = line.at("seq").to_number<std::uint64_t>();
    if (line.at("type") == "synced") bookmark = line.at("seq").to_number<std::uint64_t>();
  }

  INFO("the first connection's events reached seq " << highest_event);
  CHECK(*bookmark >= highest_event);
  std::vector<std::string> problems;
  CHECK(checker.verify(read_records(ws.coordination(), problems)) == std::vector<std::string>{});
}

constexpr std::string_view kOverflowLogged = "inotify queue overflowed";

// The delay coordd last put a rescan off by, from its log line "repeated
// inotify overflows; next rescan in N ms"; 0 when it never did.
long last_rescan_delay_ms(const std::string& log) {
  constexpr std::string_view kSaid = "next rescan in ";
  std::size_t at = log.rfind(kSaid);
  return at == std::string::npos ? 0 : std::atol(log.c_str() + at + kSaid.size());
}

// A number from coordd's status; 0 when the request failed (the caller's
// deadline then ends the wait).
std::uint64_t status_number(Subscriber& client, std::string_view key) {
  auto status = client.request({{"op", "status"}}, SteadyClock::now() + 5s);
  return status ? status->at(key).to_number<std::uint64_t>() : 0;
}

// Pauses coordd, writes far more changes than its 64-event inotify queue
// holds, and lets it go on: an overflow, certainly.
void overflow_while_paused(const Workspace& ws, pid_t pid, std::uint32_t seed) {
  DaemonPause paused(pid);
  REQUIRE(paused.stopped());
  ChurnWriter burst(
      ws.coordination(),
      ChurnOptions{.operations = 200, .ids_per_kind = 100, .seed = seed, .kinds = {"tasks"}});
  REQUIRE_MESSAGE(burst.run(), burst.error());
}

TEST_CASE(
    "a sync sent while an overflow rescan waits out its backoff is answered only after that "
    "rescan") {
  if (::geteuid() != 0) {
    MESSAGE(
        "skipped: forcing an inotify overflow lowers fs.inotify.max_queued_events, which "
        "needs root");
    return;
  }
  Workspace ws;
  std::optional<DaemonProcess> daemon;
  {
    InotifyQueueLimit tiny_queue(64);
    if (!tiny_queue.ok()) {
      MESSAGE("skipped: cannot lower fs.inotify.max_queued_events: " << tiny_queue.why_not());
      return;
    }
    daemon.emplace(ws);
  }
  Subscriber client(ws.socket(), {});
  REQUIRE(client.connect());
  auto pid = pid_t(status_number(client, "pid"));
  REQUIRE(pid > 0);
  // Overflows in quick succession put off each rescan twice as long as the
  // last: 0, 50, 100, 200, 400, 800 ms. Each is waited for until coordd has
  // read it (so its queue is empty again and the next cookie gets through)
  // and, but for the last, rescanned.
  constexpr std::uint64_t kOverflows = 6;
  for (std::uint64_t overflows = 1; overflows <= kOverflows; ++overflows) {
    overflow_while_paused(ws, pid, std::uint32_t(overflows));
    REQUIRE_MESSAGE(wait_for_log(ws, *daemon, kOverflowLogged, overflows, 5s),
                    "coordd never logged overflow " << overflows << "; its log:\n"
                                                    << daemon->log());
    if (overflows == kOverflows) break;
    // Checked at most 1 ms apart: the next overflow must follow this one quickly.
    bool rescanned = support::poll_until(
        5s, [&] { return status_number(client, "overflows") >= overflows; }, 1ms);
    REQUIRE_MESSAGE(rescanned, "coordd never rescanned after overflow " << overflows
                                                                        << "; its log:\n"
                                                                        << daemon->log());
  }
  long delay = last_rescan_delay_ms(daemon->log());
  if (delay < 200) {
    MESSAGE("skipped: the overflows came too far apart for coordd to back off (last delay "
            << delay << " ms); nothing was checked");
    return;
  }
  INFO("coordd put off the last rescan by " << delay << " ms");

  std::optional<std::uint64_t> synced = client.sync(10'000, SteadyClock::now() + 30s);

  REQUIRE_MESSAGE(synced, client.error());
  auto list = client.request({{"op", "list"}}, SteadyClock::now() + 5s);
  REQUIRE(list);
  std::vector<std::string> problems;
  RecordsByKind disk = read_records(ws.coordination(), problems);
  CHECK(differences(records_of_list(*list), disk) == std::vector<std::string>{});
}

}  // namespace
}  // namespace coordd::lossless
