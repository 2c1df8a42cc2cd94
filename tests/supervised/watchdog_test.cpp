// The watchdog: with WATCHDOG_USEC set, WATCHDOG=1 every half interval,
// sent by the reactor thread itself, so a reactor that is stuck (here on
// purpose, with --test-hooks' debug_stall) stops pinging and the manager
// would restart it. WATCHDOG_PID naming another process means the pings are
// not ours to send.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>

#include "tests/supervised/notify_socket.hpp"
#include "tests/supervised/supervised_process.hpp"

namespace coordd::integration {
namespace {

using std::chrono::milliseconds;

// Half of the 400 ms the manager asks for.
constexpr auto kWatchdogUsec = "400000";

Launch watched_launch(const Workspace& ws, const NotifySocket& manager,
                      std::vector<std::pair<std::string, std::string>> more_env = {},
                      std::vector<std::string> flags = {}) {
  more_env.insert(more_env.begin(),
                  {{"NOTIFY_SOCKET", manager.address()}, {"WATCHDOG_USEC", kWatchdogUsec}});
  return Launch{coordd_command(ws, std::move(flags)), std::move(more_env),
                ws.scratch("coordd.log")};
}

std::vector<milliseconds> gaps_between(std::vector<Notification> pings) {
  std::sort(pings.begin(), pings.end(),
            [](const Notification& a, const Notification& b) { return a.received < b.received; });
  std::vector<milliseconds> gaps;
  for (std::size_t i = 1; i < pings.size(); ++i) {
    gaps.push_back(
        std::chrono::duration_cast<milliseconds>(pings[i].received - pings[i - 1].received));
  }
  return gaps;
}

milliseconds median(std::vector<milliseconds> values) {
  REQUIRE(!values.empty());
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

std::string listed(const std::vector<milliseconds>& gaps) {
  std::string out;
  for (milliseconds gap : gaps) out += std::to_string(gap.count()) + " ms ";
  return out;
}

TEST_CASE("WATCHDOG_USEC=400000 brings WATCHDOG=1 about every 200 ms") {
  Workspace ws;
  NotifySocket manager(unique_abstract_address());
  SupervisedProcess daemon(watched_launch(ws, manager));
  manager.wait_for("READY=1", 10s);

  std::vector<milliseconds> gaps = gaps_between(manager.collect("WATCHDOG=1", 9, 5s));

  INFO("gaps: " << listed(gaps));
  CHECK(median(gaps) >= 120ms);
  CHECK(median(gaps) <= 320ms);
}

TEST_CASE("a reactor stalled for 1.5 s sends no WATCHDOG=1 meanwhile, and pings again after") {
  Workspace ws;
  NotifySocket manager(unique_abstract_address());
  SupervisedProcess daemon(watched_launch(ws, manager, {}, {"--test-hooks"}));
  manager.wait_for("READY=1", 10s);
  manager.collect("WATCHDOG=1", 2, 2s);
  EventReader client = daemon.connect(ws.socket());
  auto asked = std::chrono::system_clock::now();

  json::object reply = client.call({{"op", "debug_stall"}, {"ms", 1500}});

  CHECK(reply.at("type") == "stalled");
  std::vector<Notification> resumed = manager.collect("WATCHDOG=1", 3, 2s);
  CHECK(resumed.back().received > asked + 1500ms);
  std::vector<Notification> around_stall;
  for (const Notification& n : manager.history()) {
    if (n.says("WATCHDOG=1") && n.received > asked - 1s) around_stall.push_back(n);
  }
  std::vector<milliseconds> gaps = gaps_between(around_stall);
  INFO("gaps around the stall: " << listed(gaps));
  CHECK(*std::max_element(gaps.begin(), gaps.end()) >= 1200ms);
}

TEST_CASE("without --test-hooks, debug_stall is an unknown op and stalls nothing") {
  Workspace ws;
  DaemonProcess daemon(ws);
  auto asked = std::chrono::steady_clock::now();

  json::object reply = daemon.connect().call({{"op", "debug_stall"}, {"ms", 3000}});

  CHECK(error_code_of(reply) == "unknown_op");
  CHECK(std::chrono::steady_clock::now() - asked < 1s);
}

TEST_CASE("coordd serves, and exits on SIGTERM, while nobody reads its NOTIFY_SOCKET") {
  Workspace ws;
  NotifySocket manager(unique_abstract_address());  // bound, and never read
  // A ping every 10 ms fills the kernel's queue for the socket
  // (net.unix.max_dgram_qlen, 10 by default) within a tenth of a second.
  SupervisedProcess daemon(
      Launch{coordd_command(ws),
             {{"NOTIFY_SOCKET", manager.address()}, {"WATCHDOG_USEC", "20000"}},
             ws.scratch("coordd.log")});
  daemon.wait_until_serving(ws.socket());
  EventReader client = daemon.connect(ws.socket());

  // Half a second is fifty pings: the queue is long full by its end.
  auto until = std::chrono::steady_clock::now() + 500ms;
  while (std::chrono::steady_clock::now() < until) {
    REQUIRE(client.call({{"op", "ping"}}).at("type") == "pong");
  }

  CHECK(daemon.terminate() == 0);
}

TEST_CASE("WATCHDOG_PID naming another process means no WATCHDOG=1 at all") {
  Workspace ws;
  NotifySocket manager(unique_abstract_address());
  SupervisedProcess daemon(
      watched_launch(ws, manager, {{"WATCHDOG_PID", std::to_string(::getpid())}}));
  manager.wait_for("READY=1", 10s);

  // Ours would come at once after READY=1, then every 200 ms: five
  // intervals of silence say there are none.
  std::vector<std::string> heard;
  auto until = std::chrono::steady_clock::now() + 1000ms;
  for (auto left = 1000ms; left > 0ms;
       left = std::chrono::ceil<milliseconds>(until - std::chrono::steady_clock::now())) {
    if (std::optional<Notification> next = manager.receive(left)) heard.push_back(next->text);
  }

  CHECK(heard == std::vector<std::string>{});
  CHECK(!mentions(daemon.log(), "watchdog: pinging"));
}

}  // namespace
}  // namespace coordd::integration
