// coordctl checks whom it talks to: a socket in a directory another user
// owns or may write, or a server process running as another user, is refused
// with a message that says what is wrong, before a single request is sent.
#include "client/server_trust.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "coordd_fixture.hpp"

namespace fs = std::filesystem;
using namespace coordctl_test;

namespace {

constexpr uid_t kNobody = 65534;

enum class Answers { kClose, kNever };

// A Unix socket server at `path` that listens as uid `uid` (root drops to it
// before listen(), which is when SO_PEERCRED is taken) and either closes
// each connection at once or keeps it open and never answers.
std::unique_ptr<ChildProcess> impostor(const std::string& path, uid_t uid,
                                       Answers answers = Answers::kClose) {
  std::string script =
      "import os, socket, sys\n"
      "s = socket.socket(socket.AF_UNIX)\n"
      "s.bind(sys.argv[1])\n"
      "if os.getuid() != int(sys.argv[2]): os.setuid(int(sys.argv[2]))\n"
      "s.listen()\n"
      "print('listening', flush=True)\n"
      "held = []\n"
      "while True:\n"
      "    c, _ = s.accept()\n"
      "    held.append(c) if sys.argv[3] == 'never' else c.close()\n";
  coordd::support::ChildOptions options = captured();
  auto child = std::make_unique<ChildProcess>(
      std::vector<std::string>{"python3", "-c", script, path, std::to_string(uid),
                               answers == Answers::kNever ? "never" : "close"},
      options);
  REQUIRE_MESSAGE(child->read_lines(1, 10s),
                  "the impostor did not start: " << child->stderr_text());
  return child;
}

}  // namespace

TEST_CASE(
    "a socket directory writable by other users is refused, and the user is told how to fix it") {
  TempRepo repo;
  fs::path dir = fs::path(repo.no_daemon_socket()).parent_path();
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::all);  // 0777
  RunResult run = run_to_end(coordctl({"ping", "--socket", repo.no_daemon_socket()}));
  CHECK(run.status.code == 1);
  CHECK(run.err.find("writable by other users") != std::string::npos);
  CHECK(run.err.find("chmod go-w") != std::string::npos);
}

TEST_CASE("a socket directory owned by another user is refused unless COORDD_SERVER_UID names it") {
  if (::getuid() != 0) {
    MESSAGE("needs root to give a directory to another uid; CI runs as root");
    return;
  }
  TempRepo repo;
  fs::path dir = fs::path(repo.no_daemon_socket()).parent_path();
  fs::create_directories(dir);
  REQUIRE(::chown(dir.c_str(), kNobody, kNobody) == 0);
  RunResult run = run_to_end(coordctl({"ping", "--socket", repo.no_daemon_socket()}));
  CHECK(run.status.code == 1);
  CHECK(run.err.find("belongs to uid 65534, not to you") != std::string::npos);
  CHECK(run.err.find("COORDD_SERVER_UID=65534") != std::string::npos);

  RunResult trusted = run_to_end(coordctl({"ping", "--socket", repo.no_daemon_socket()}),
                                 {"COORDD_SERVER_UID=65534"});
  CHECK(trusted.err.find("belongs to uid") == std::string::npos);
  CHECK(trusted.err.find("No such file or directory") != std::string::npos);
}

TEST_CASE("a server running as another user is refused, by ping and by watch alike") {
  if (::getuid() != 0) {
    MESSAGE("needs root to run a server as another uid; CI runs as root");
    return;
  }
  TempRepo repo;
  fs::path dir = fs::path(repo.no_daemon_socket()).parent_path();
  fs::create_directories(dir);
  std::unique_ptr<ChildProcess> server = impostor(repo.no_daemon_socket(), kNobody);
  RunResult ping = run_to_end(coordctl({"ping", "--socket", repo.no_daemon_socket()}));
  CHECK(ping.status.code == 1);
  CHECK(ping.err.find("refusing the server: it runs as uid 65534") != std::string::npos);

  RunResult watch = run_to_end(coordctl({"watch", "--once", "--json", "--require-daemon", "--root",
                                         repo.root(), "--socket", repo.no_daemon_socket()}));
  CHECK(watch.status.code == 1);
  CHECK(watch.out.empty());
  CHECK(watch.err.find("refusing the server") != std::string::npos);
}

TEST_CASE("ping, status, list and send give up on a daemon that never answers, after --timeout") {
  TempRepo repo;
  fs::path dir = fs::path(repo.no_daemon_socket()).parent_path();
  fs::create_directories(dir);
  std::unique_ptr<ChildProcess> server =
      impostor(repo.no_daemon_socket(), ::getuid(), Answers::kNever);
  for (std::string command : {"ping", "status", "list", "send"}) {
    CAPTURE(command);
    std::vector<std::string> args = {command, "--timeout", "0.3", "--socket",
                                     repo.no_daemon_socket()};
    if (command == "list") args.insert(args.end(), {"--root", repo.root()});
    if (command == "send") args.insert(args.end(), {"--to", "w", "--kind", "x-a"});
    RunResult run = run_to_end(coordctl(args), {}, 5s);
    CHECK(run.status.code == 1);
    CHECK(run.err.find("no reply within 0.3 s") != std::string::npos);
  }
}
