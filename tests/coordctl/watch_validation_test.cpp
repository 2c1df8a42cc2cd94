// coordctl watch's bad arguments, end to end: Muse's message on the right
// channel for the output mode, exit 1, and no I/O first (the root and the
// socket given here do not exist).
#include <doctest/doctest.h>

#include "coordd_fixture.hpp"

using namespace coordctl_test;

namespace {

struct BadArgs {
  std::vector<std::string> flags;
  std::string message;
};

const std::vector<BadArgs> kBadArgs = {
    {{"--run-id", std::string(300, 'x')}, "--run-id is too long (300 chars; max 256)"},
    {{"--poll-interval", "0"}, "--poll-interval must be in [0.01, 3600.0], got 0.0"},
    {{"--poll-interval", "3601"}, "--poll-interval must be in [0.01, 3600.0], got 3601.0"},
    {{"--timeout", "-1"}, "--timeout must be >= 0, got -1.0"},
    {{"--max-events", "0"}, "--max-events must be >= 1, got 0"},
};

std::vector<std::string> watch_with(const std::vector<std::string>& flags,
                                    const std::string& mode) {
  std::vector<std::string> args = {"watch", "--root", "/nonexistent/repo", "--socket",
                                   "/nonexistent/coordd.sock"};
  args.insert(args.end(), flags.begin(), flags.end());
  if (!mode.empty()) args.push_back(mode);
  return coordctl(args);
}

}  // namespace

TEST_CASE("in JSON mode each bad argument is one bad_args line on stdout and exit 1") {
  for (std::string mode : {"--json", "-j"}) {
    for (const BadArgs& bad : kBadArgs) {
      CAPTURE(bad.message);
      RunResult run = run_to_end(watch_with(bad.flags, mode));
      CHECK(run.status.code == 1);
      CHECK(run.out == "{\"error\": \"" + bad.message + "\", \"status\": \"bad_args\"}\n");
      CHECK(run.err.empty());
    }
  }
}

TEST_CASE("--format json reports bad arguments as JSON too") {
  RunResult run = run_to_end(watch_with({"--format", "json", "--timeout", "-1"}, ""));
  CHECK(run.status.code == 1);
  CHECK(run.out == "{\"error\": \"--timeout must be >= 0, got -1.0\", \"status\": \"bad_args\"}\n");
}

TEST_CASE("in text mode each bad argument is a ❌ line on stderr and exit 1") {
  for (const BadArgs& bad : kBadArgs) {
    CAPTURE(bad.message);
    RunResult run = run_to_end(watch_with(bad.flags, ""));
    CHECK(run.status.code == 1);
    CHECK(run.err == "❌ " + bad.message + "\n");
    CHECK(run.out.empty());
  }
}

TEST_CASE("usage errors exit 2 with argparse's usage and message on stderr, even in JSON mode") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--run-id", "--once"}, "argument --run-id: expected one argument"},
      {{"--kind", "lease"},
       "argument --kind: invalid choice: 'lease' (choose from 'claims', 'dependencies', "
       "'heartbeats', 'intents', 'releases', 'reservations', 'tasks')"},
      {{"--timeout", "soon"}, "argument --timeout: invalid float value: 'soon'"},
      {{"--max-events", "1.5"}, "argument --max-events: invalid int value: '1.5'"},
      {{"--ro", "x", "--r"}, "argument --run-id: expected one argument"},
      {{"--once", "--bogus", "x"}, "unrecognized arguments: --bogus x"},
  };
  for (const auto& [flags, message] : cases) {
    CAPTURE(message);
    RunResult run = run_to_end(watch_with(flags, "--json"));
    CHECK(run.status.code == 2);
    CHECK(run.out.empty());
    CHECK(run.err.starts_with("usage: coordctl watch [-h] [--once]"));
    CHECK(run.err.ends_with("coordctl watch: error: " + message + "\n"));
  }
}

TEST_CASE("the last of a repeated option wins and an unambiguous prefix is the option") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  repo.write("reservations", "r-2", reservation("r-2", "agent-2", "main", {"b.py::g"}));
  RunResult run =
      run_to_end(coordctl({"watch", "--js", "--on", "--run", "agent-1", "--run-id", "agent-2",
                           "--ro", repo.root(), "--so", repo.no_daemon_socket()}));
  CHECK(run.status.code == 0);
  REQUIRE(run.lines.size() == 1);
  CHECK(parse_line(run.lines[0]).at("id") == "r-2");
}

TEST_CASE("--require-daemon without a daemon exits 1 and says how to start coordd") {
  TempRepo repo;
  RunResult run = run_to_end(coordctl({"watch", "--require-daemon", "--once", "--root", repo.root(),
                                       "--socket", repo.no_daemon_socket()}));
  CHECK(run.status.code == 1);
  CHECK(run.err.find("coordd --root " + repo.root()) != std::string::npos);
  CHECK(run.out.empty());
}
