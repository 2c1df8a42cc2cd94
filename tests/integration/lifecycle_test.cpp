// Starting and stopping coordd: one daemon per socket, stale sockets
// replaced, a clean exit on SIGTERM, an unsafe socket directory refused.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/support/poll_until.hpp"
#include "tests/support/program_paths.hpp"

namespace coordd::integration {
namespace {

bool mentions(const std::string& log, std::string_view words) {
  return log.find(words) != std::string::npos;
}

// Leaves a socket file at `path` with nothing listening, as a daemon that
// was killed would.
void leave_stale_socket(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
}

TEST_CASE("a second coordd on the same socket exits 1, saying another daemon is serving") {
  Workspace ws;
  DaemonProcess first(ws);

  DaemonExit second = DaemonProcess::run_expecting_exit(ws);

  CHECK(second.code == 1);
  INFO(second.log);
  CHECK(mentions(second.log, "already serving"));
  CHECK(first.connect().call({{"op", "ping"}}).at("type") == "pong");
}

TEST_CASE("a stale socket file is replaced") {
  Workspace ws;
  fs::create_directory(ws.socket_dir());
  fs::permissions(ws.socket_dir(), fs::perms::owner_all);
  leave_stale_socket(ws.socket());

  DaemonProcess daemon(ws);

  CHECK(daemon.connect().call({{"op", "ping"}}).at("type") == "pong");
  CHECK(mentions(daemon.log(), "replacing stale socket"));
}

TEST_CASE("SIGTERM makes coordd exit 0 and remove its socket") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader subscriber = daemon.connect();
  subscriber.subscribe();

  CHECK(daemon.terminate() == 0);

  CHECK(!fs::exists(fs::symlink_status(ws.socket())));
  subscriber.read_until_closed();
}

TEST_CASE("a socket directory writable by others is refused, with exit code 1") {
  Workspace ws;
  fs::create_directory(ws.socket_dir());
  fs::permissions(ws.socket_dir(), fs::perms::all);

  DaemonExit exit = DaemonProcess::run_expecting_exit(ws);

  CHECK(exit.code == 1);
  INFO(exit.log);
  CHECK(mentions(exit.log, "writable by group or others"));
  CHECK(!fs::exists(fs::symlink_status(ws.socket())));
}

}  // namespace
}  // namespace coordd::integration

namespace coordd::integration {

TEST_CASE(
    "two coordd started at once on one stale socket: exactly one serves, the other says why") {
  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    Workspace ws;
    fs::create_directory(ws.socket_dir());
    fs::permissions(ws.socket_dir(), fs::perms::owner_all);
    leave_stale_socket(ws.socket());
    std::vector<std::string> argv = {
        support::coordd_binary(), "--root",      ws.repo().string(),     "--socket",
        ws.socket().string(),     "--state-dir", ws.state_dir().string()};
    support::ChildOptions options;
    options.stderr_to = support::Output::kCollect;
    options.stop_grace = 5s;
    support::ChildProcess a(argv, options);
    support::ChildProcess b(argv, options);
    bool one_exited = support::poll_until(support::PollClock::now() + 10s, [&] {
      // (A collecting wait needs a moment to read the pipes to their end.)
      return a.wait(20ms).has_value() || b.wait(20ms).has_value();
    });
    REQUIRE_MESSAGE(one_exited, "both daemons still run on one socket; their logs:\n"
                                    << a.stderr_text() << "\n"
                                    << b.stderr_text());
    support::ChildProcess& loser = a.exit_status() ? a : b;
    support::ChildProcess& winner = a.exit_status() ? b : a;
    CHECK(loser.exit_status()->code == 1);
    CHECK(mentions(loser.stderr_text(), "another coordd is already serving"));
    // The winner may still be binding when the loser has given up.
    std::string why;
    CHECK_MESSAGE(wait_for_ping(ws.socket(), winner, 10s, why) == Serving::kYes, why);
    CHECK_FALSE(winner.wait(20ms).has_value());
  }
}

}  // namespace coordd::integration

namespace coordd::integration {

TEST_CASE(
    "a default state directory that cannot be made leaves coordd serving, memory only, saying so; "
    "one named with --state-dir stops it") {
  Workspace ws;
  fs::create_directory(ws.socket_dir());
  fs::permissions(ws.socket_dir(), fs::perms::owner_all);
  write_file_in_place(ws.scratch("home-is-a-file"), "not a directory\n");
  support::ChildOptions options;
  options.stderr_to = support::Output::kCollect;
  options.env = {"HOME=" + ws.scratch("home-is-a-file").string(), "XDG_STATE_HOME"};
  support::ChildProcess daemon(
      {support::coordd_binary(), "--root", ws.repo().string(), "--socket", ws.socket().string()},
      options);
  std::string why;
  REQUIRE_MESSAGE(wait_for_ping(ws.socket(), daemon, 10s, why) == Serving::kYes, why);
  CHECK(daemon.read_stderr_until("messages live in memory only", 5s));

  Workspace named;
  DaemonExit refused = DaemonProcess::run_expecting_exit(
      named, {"--state-dir", (ws.scratch("home-is-a-file") / "coordd").string()});
  CHECK(refused.code == 1);
}

}  // namespace coordd::integration
