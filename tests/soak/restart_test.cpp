// SIGKILL mid-stream: coordd dies without a word while a writer writes and a
// subscriber reads. A new coordd on the same socket and root cannot honour the
// old resume point, so it says epoch_changed and resyncs the subscriber with a
// full snapshot, whose state equals the disk.
#include <doctest/doctest.h>
#include <signal.h>

#include "tests/lossless/subscriber.hpp"
#include "tests/soak/soak_fixture.hpp"
#include "tests/soak/soak_writer.hpp"

namespace coordd::soak {
namespace {

constexpr std::uint64_t kLiveEventsBeforeKill = 100;
constexpr auto kReadTimeout = 5s;

// Reads until coordd's end of the connection is gone; false at the deadline.
bool read_until_closed(lossless::Subscriber& subscriber) {
  auto deadline = SteadyClock::now() + kReadTimeout;
  json::object line;
  for (;;) {
    switch (subscriber.read_line(line, deadline)) {
      case lossless::Subscriber::Read::kLine:
        continue;
      case lossless::Subscriber::Read::kFailed:
        return true;
      case lossless::Subscriber::Read::kTimeout:
        return false;
    }
  }
}

TEST_CASE(
    "after coordd is SIGKILLed mid-stream and restarted, a resuming subscriber is told "
    "epoch_changed and rebuilds the disk's state from a resync snapshot") {
  Workspace ws;
  std::optional<DaemonProcess> first(std::in_place, ws);
  EventReader probe = first->connect();
  const pid_t first_pid = daemon_pid(probe);
  lossless::Subscriber subscriber(ws.socket(), {});
  REQUIRE_MESSAGE(subscriber.connect(), subscriber.error());
  REQUIRE(is_subscribed(subscriber.subscribe()));
  const std::string first_epoch = subscriber.epoch();
  SoakWriter writer(
      ws.coordination(),
      {.id_prefix = "k", .seed = soak_seed(), .operations_per_second = 500, .leave_alone = {}});
  std::string writer_error;
  std::jthread writing = load_thread(
      writer_error, [&](std::stop_token stop) { return writer.run(stop) ? "" : writer.error(); });

  REQUIRE(subscriber.read_until(
      [&](const json::object&) {
        return subscriber.checker().events_received() >= kLiveEventsBeforeKill;
      },
      SteadyClock::now() + kReadTimeout));
  REQUIRE(::kill(first_pid, SIGKILL) == 0);
  CHECK(read_until_closed(subscriber));
  first.reset();  // reaps it
  DaemonProcess second(ws);
  std::optional<json::object> reply = subscriber.resume();
  writing.request_stop();
  writing.join();

  REQUIRE(writer_error == "");
  REQUIRE_MESSAGE(is_subscribed(reply), subscriber.error());
  CHECK(subscriber.epoch() != first_epoch);
  CHECK(reply->at("resumed") == false);
  CHECK(reply->at("reason") == "epoch_changed");
  REQUIRE_MESSAGE(subscriber.sync(2'000, SteadyClock::now() + 10s), subscriber.error());
  CHECK(subscriber.checker().resyncs() == 1);
  CHECK(subscriber.checker().verify(disk_records(ws)) == std::vector<std::string>{});
  MESSAGE("killed after " << kLiveEventsBeforeKill << " live events; " << writer.counts().total()
                          << " writes in all; " << subscriber.checker().events_received()
                          << " events received across both daemons");
}

}  // namespace
}  // namespace coordd::soak
