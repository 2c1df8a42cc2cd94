// coordctl watch in text mode: Muse's layout with full ids, sanitized agent
// strings, and a header naming where events come from.
#include <doctest/doctest.h>

#include "coordd_fixture.hpp"

using namespace coordctl_test;

namespace {

std::string rule() {
  std::string out;
  for (int i = 0; i < 62; ++i) out += "─";
  return out;
}

}  // namespace

TEST_CASE("text mode shows full ids and strips ANSI escapes planted in a run_id and a branch") {
  TempRepo repo;
  std::string id = long_id('r');
  repo.write(
      "reservations", id,
      reservation(id, "agent\x1b[31m-7", "feat\x1b]0;pwned\x07/x", {"billing.py::total\x1b[2J"}));
  RunningCoordd coordd(repo);

  RunResult run =
      run_to_end(coordctl({"watch", "--once", "--root", repo.root(), "--socket", repo.socket()}),
                 {"NO_COLOR"});
  CHECK(run.status.code == 0);
  CHECK(run.out.find('\x1b') == std::string::npos);
  CHECK(run.out.find('\x07') == std::string::npos);
  CHECK(run.out.find("· reservation  agent-7@feat/x") != std::string::npos);
  CHECK(run.out.find(id + " [billing.py::total]") != std::string::npos);
}

TEST_CASE("the text header names the root and the daemon, then the filters and a rule") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(coordctl({"watch", "--once", "--kind", "intents", "--run-id", "a1",
                                       "--root", repo.root(), "--socket", repo.socket()}));
  CHECK(run.status.code == 0);
  REQUIRE(run.lines.size() >= 4);
  CHECK(run.lines[1] ==
        "coordctl watch — watching " + repo.root() + "/.muse/coordination/ (daemon: inotify)");
  CHECK(run.lines[2] == "  filter: kind=intent, run-id=a1");
  CHECK(run.lines[3] == rule());
  CHECK(run.out.ends_with("\n  (watch ended)\n"));
}

TEST_CASE("with no daemon the text header says standalone") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  RunResult run = run_to_end(
      coordctl({"watch", "--once", "--root", repo.root(), "--socket", repo.no_daemon_socket()}));
  CHECK(run.status.code == 0);
  REQUIRE(run.lines.size() >= 2);
  CHECK(run.lines[1] ==
        "coordctl watch — watching " + repo.root() + "/.muse/coordination/ (standalone: inotify)");
  CHECK(run.out.find("· reservation  agent-1@main") != std::string::npos);
}

TEST_CASE("a repository the daemon does not watch is watched standalone, with a note") {
  TempRepo watched;
  TempRepo other;
  RunningCoordd coordd(watched);
  RunResult run = run_to_end(
      coordctl({"watch", "--once", "--root", other.root(), "--socket", watched.socket()}));
  CHECK(run.status.code == 0);
  CHECK(run.out.find("(standalone: inotify)") != std::string::npos);
  CHECK(run.err.find("does not watch " + other.root()) != std::string::npos);
}
