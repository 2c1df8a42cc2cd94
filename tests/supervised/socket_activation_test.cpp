// Socket activation by systemd's own systemd-socket-activate: it binds the
// socket, waits for the first client, then execs coordd in its own process
// with LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES, passing on only the variables
// named with -E. coordd must serve that socket and neither create nor
// unlink one of its own.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tests/supervised/notify_socket.hpp"
#include "tests/supervised/supervised_process.hpp"

namespace coordd::integration {
namespace {

// The program's path on $PATH, or "" when it is not installed.
using support::find_program;

ino_t inode_of(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) FAIL(path << " does not exist");
  CHECK(S_ISSOCK(st.st_mode));
  return st.st_ino;
}

// systemd-socket-activate with `flags`, then coordd watching ws.repo() with
// `own_socket` as --socket: where it would listen were it not activated.
std::vector<std::string> activation_command(const std::string& activate,
                                            std::vector<std::string> flags, const Workspace& ws,
                                            const fs::path& own_socket) {
  fs::create_directory(ws.socket_dir());
  std::vector<std::string> argv = {activate};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {coordd_binary(), "--root", ws.repo().string(), "--socket",
                           own_socket.string(), "--state-dir", ws.state_dir().string()});
  return argv;
}

TEST_CASE("under systemd-socket-activate, coordd serves the socket it was handed and leaves it") {
  std::string activate = find_program("systemd-socket-activate");
  if (activate.empty()) {
    MESSAGE("skipped: systemd-socket-activate is not installed");
    return;
  }
  Workspace ws;
  // --socket names where coordd would listen if it ignored the activation.
  fs::path own_socket = ws.scratch("own") / "coordd.sock";
  NotifySocket manager(ws.scratch("notify.sock").string());
  // -E: the activator passes on only the variables it is told to.
  std::vector<std::string> argv = activation_command(
      activate, {"-l", ws.socket().string(), "--fdname=coordd", "-E", "NOTIFY_SOCKET"}, ws,
      own_socket);
  SupervisedProcess activator(
      Launch{argv, {{"NOTIFY_SOCKET", manager.address()}}, ws.scratch("activated.log")});
  activator.wait_for_log("Listening on");
  ino_t activator_socket = inode_of(ws.socket());

  // The first connection makes the activator exec coordd; it is served.
  EventReader client = activator.connect(ws.socket());
  json::object status = client.call({{"op", "status"}});

  CHECK(status.at("backend") == "inotify");
  CHECK(status.at("pid") == activator.pid());  // exec'd in place: LISTEN_PID is its pid
  CHECK(manager.wait_for("READY=1").field("MAINPID") == std::to_string(activator.pid()));
  CHECK(activator.terminate() == 0);
  INFO(activator.log());
  CHECK(mentions(activator.log(), "activated fd 3 (coordd)"));
  CHECK(inode_of(ws.socket()) == activator_socket);  // neither replaced nor unlinked
  CHECK(!fs::exists(fs::symlink_status(own_socket)));
  CHECK(!fs::exists(own_socket.parent_path()));
}

TEST_CASE("two activated sockets, named with --fdname, are both served") {
  std::string activate = find_program("systemd-socket-activate");
  if (activate.empty()) {
    MESSAGE("skipped: systemd-socket-activate is not installed");
    return;
  }
  Workspace ws;
  fs::path second = ws.socket_dir() / "second.sock";
  SupervisedProcess activator(Launch{
      activation_command(activate,
                         {"-l", ws.socket().string(), "-l", second.string(), "--fdname=main:extra"},
                         ws, ws.scratch("own.sock")),
      {},
      ws.scratch("activated.log")});
  activator.wait_for_log("Listening on " + second.string());

  EventReader first_client = activator.connect(ws.socket());
  CHECK(first_client.call({{"op", "ping"}}).at("type") == "pong");
  EventReader second_client = activator.connect(second);
  CHECK(second_client.call({{"op", "ping"}}).at("type") == "pong");

  INFO(activator.log());
  CHECK(mentions(activator.log(), "activated fd 3 (main), activated fd 4 (extra)"));
}

TEST_CASE("LISTEN_FDS meant for another pid is ignored: coordd binds its own --socket") {
  Workspace ws;
  SupervisedProcess daemon(
      Launch{coordd_command(ws),
             {{"LISTEN_PID", "1"}, {"LISTEN_FDS", "1"}, {"LISTEN_FDNAMES", "x"}},
             ws.scratch("coordd.log")});

  daemon.wait_until_serving(ws.socket());

  CHECK(!mentions(daemon.log(), "activated fd"));
  CHECK(daemon.terminate() == 0);
  CHECK(!fs::exists(fs::symlink_status(ws.socket())));  // its own socket, so it removes it
}

// Sends one datagram to the socket at `path`.
void poke(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ssize_t sent = ::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::close(fd);
  REQUIRE(sent == 1);
}

TEST_CASE("an activated datagram socket is refused: exit 1, asking for ListenStream=") {
  std::string activate = find_program("systemd-socket-activate");
  if (activate.empty()) {
    MESSAGE("skipped: systemd-socket-activate is not installed");
    return;
  }
  Workspace ws;
  SupervisedProcess activator(
      Launch{activation_command(activate, {"--datagram", "-l", ws.socket().string()}, ws,
                                ws.scratch("own.sock")),
             {},
             ws.scratch("activated.log")});
  activator.wait_for_log("Listening on");

  poke(ws.socket());  // the activator execs coordd on the first datagram

  CHECK(activator.wait_for_exit(10s) == 1);
  INFO(activator.log());
  CHECK(mentions(activator.log(), "fd 3 is not a stream socket (use ListenStream=)"));
  CHECK(!fs::exists(fs::symlink_status(ws.scratch("own.sock"))));
}

}  // namespace
}  // namespace coordd::integration
