// SIGINT and SIGTERM end a watch cleanly (exit 0), in both modes.
#include <doctest/doctest.h>
#include <signal.h>

#include "coordd_fixture.hpp"

using namespace coordctl_test;

TEST_CASE("SIGTERM ends a daemon-mode watch with exit 0") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  RunningCoordd coordd(repo);
  ChildProcess watch(coordctl({"watch", "--json", "--require-daemon", "--root", repo.root(),
                               "--socket", repo.socket()}),
                     captured());
  REQUIRE(watch.read_lines(1, 10s));
  watch.send_signal(SIGTERM);
  std::optional<ExitStatus> status = watch.wait(10s);
  REQUIRE(status.has_value());
  CHECK(status->exited);
  CHECK(status->code == 0);
  CHECK(watch.stderr_text().empty());
}

TEST_CASE("SIGINT ends a text watch with exit 0 and the closing line, no noise") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  RunningCoordd coordd(repo);
  ChildProcess watch(coordctl({"watch", "--root", repo.root(), "--socket", repo.socket()}),
                     captured());
  REQUIRE(watch.read_lines(4, 10s));  // blank, header, rule, the snapshot line
  watch.send_signal(SIGINT);
  std::optional<ExitStatus> status = watch.wait(10s);
  REQUIRE(status.has_value());
  CHECK(status->code == 0);
  CHECK(watch.stdout_text().ends_with("(watch ended)\n"));
  CHECK(watch.stderr_text().empty());
}

TEST_CASE("SIGTERM ends a standalone watch with exit 0") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  ChildProcess watch(
      coordctl({"watch", "--json", "--root", repo.root(), "--socket", repo.no_daemon_socket()}),
      captured());
  REQUIRE(watch.read_lines(1, 10s));
  watch.send_signal(SIGTERM);
  std::optional<ExitStatus> status = watch.wait(10s);
  REQUIRE(status.has_value());
  CHECK(status->exited);
  CHECK(status->code == 0);
}
