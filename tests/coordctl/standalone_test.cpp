// Standalone mode runs coordd's engine in-process: for the same file
// operations it must print the same events as a watch through the daemon.
#include <doctest/doctest.h>

#include <tuple>

#include "coordd_fixture.hpp"

namespace json = boost::json;
using namespace coordctl_test;

namespace {

using Step = std::tuple<std::string, std::string, std::string>;  // event_type, kind, id

Step step_of(const std::string& line) {
  json::object event = parse_line(line);
  auto text = [&](std::string_view key) {
    auto* value = event.if_contains(key);
    return value && value->is_string() ? std::string(value->get_string()) : std::string();
  };
  return {text("event_type"), text("kind"), text("id")};
}

// Both watchers have printed `count` lines (each operation waits for its
// event, so the two engines see the same order of changes).
void expect_both(ChildProcess& daemon, ChildProcess& standalone, std::size_t count) {
  REQUIRE_MESSAGE(daemon.read_lines(count, 10s), "daemon-mode output:\n" << daemon.stdout_text());
  REQUIRE_MESSAGE(standalone.read_lines(count, 10s), "standalone output:\n"
                                                         << standalone.stdout_text());
}

}  // namespace

TEST_CASE("standalone mode prints the same events as daemon mode for the same file operations") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  RunningCoordd coordd(repo);
  const std::vector<Step> expected = {
      {"snapshot", "reservations", "r-1"}, {"added", "reservations", "r-2"},
      {"modified", "reservations", "r-2"}, {"added", "heartbeats", "hb-2"},
      {"added", "releases", "rel-1"},      {"expired", "reservations", "r-1"},
      {"added", "intents", "i-1"},         {"removed", "intents", "i-1"},
      {"added", "reservations", "r-3"},    {"expired", "reservations", "r-3"},
  };
  std::string max = std::to_string(expected.size());
  ChildProcess daemon(coordctl({"watch", "--json", "--require-daemon", "--max-events", max,
                                "--root", repo.root(), "--socket", repo.socket()}),
                      captured());
  ChildProcess standalone(coordctl({"watch", "--json", "--max-events", max, "--root", repo.root(),
                                    "--socket", repo.no_daemon_socket()}),
                          captured());
  expect_both(daemon, standalone, 1);

  repo.write("reservations", "r-2", reservation("r-2", "agent-2", "main", {"b.py::g"}));
  expect_both(daemon, standalone, 2);
  repo.write_in_place("reservations", "r-2",
                      reservation("r-2", "agent-2", "main", {"b.py::g", "b.py::h"}));
  expect_both(daemon, standalone, 3);
  repo.write("heartbeats", "hb-2",
             json::object{{"reservation_id", "r-2"},
                          {"run_id", "agent-2"},
                          {"extended_expires_at", iso_time_in(2h)}});
  expect_both(daemon, standalone, 4);
  repo.write("releases", "rel-1",
             json::object{{"reservation_id", "r-1"}, {"run_id", "agent-1"}, {"reason", "done"}});
  expect_both(daemon, standalone, 6);
  repo.write("intents", "i-1",
             json::object{{"intent_id", "i-1"}, {"run_id", "agent-2"}, {"operation", "edit"}});
  expect_both(daemon, standalone, 7);
  repo.remove("intents", "i-1");
  expect_both(daemon, standalone, 8);
  // Last, so its expiry by ttl cannot interleave with another change.
  repo.write("reservations", "r-3", reservation("r-3", "agent-3", "main", {"c.py::k"}, 1500ms));

  std::optional<ExitStatus> daemon_exit = daemon.wait(15s);
  std::optional<ExitStatus> standalone_exit = standalone.wait(15s);
  REQUIRE(daemon_exit.has_value());
  REQUIRE(standalone_exit.has_value());
  CHECK(daemon_exit->code == 0);
  CHECK(standalone_exit->code == 0);
  std::vector<Step> through_daemon, in_process;
  for (const std::string& line : daemon.lines()) through_daemon.push_back(step_of(line));
  for (const std::string& line : standalone.lines()) in_process.push_back(step_of(line));
  CHECK(through_daemon == expected);
  CHECK(in_process == expected);
}

TEST_CASE("standalone --once prints the snapshot and exits 0, leaving the repository untouched") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  RunResult run = run_to_end(coordctl(
      {"watch", "--once", "--json", "--root", repo.root(), "--socket", repo.no_daemon_socket()}));
  CHECK(run.status.code == 0);
  REQUIRE(run.lines.size() == 1);
  CHECK(step_of(run.lines[0]) == Step{"snapshot", "reservations", "r-1"});
  CHECK(run.err.empty());
}
