// coordctl top with stdout not a terminal (a pipe): one snapshot, then exit.
#include <doctest/doctest.h>

#include "client/agent_text.hpp"
#include "coordd_fixture.hpp"

using namespace coordctl_test;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("top into a pipe prints one 80×24 snapshot with the leases and exits 0") {
  TempRepo repo;
  repo.write("reservations", "res-7",
             reservation("res-7", "agent-42", "main", {"billing.py::compute_total"},
                         std::chrono::minutes(10)));
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(coordctl({"top", "--socket", repo.socket()}), {"COLUMNS=", "LINES="});
  CHECK(run.status.code == 0);
  std::vector<std::string> lines = lines_of(run.out);
  CHECK(lines.size() == 24);
  for (const std::string& line : lines) CHECK(coordd::display_width(line) <= 80);
  CHECK(run.out.starts_with("coordctl top  "));
  CHECK(lines[0].find(" UTC  coordd/") != std::string::npos);
  CHECK(run.out.find("agent-42") != std::string::npos);
  CHECK(run.out.find("res-7") != std::string::npos);
  CHECK(run.out.find("\x1b") == std::string::npos);  // no terminal codes in a pipe
  CHECK(lines.back() == "q quits");
}

TEST_CASE("top into a pipe takes its size from $COLUMNS and $LINES") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  RunResult run =
      run_to_end(coordctl({"top", "--socket", repo.socket()}), {"COLUMNS=120", "LINES=40"});
  CHECK(run.status.code == 0);
  CHECK(lines_of(run.out).size() == 40);
}

TEST_CASE("top into a pipe exits 1 and says how to start coordd when none answers") {
  TempRepo repo;
  RunResult run = run_to_end(coordctl({"top", "--socket", repo.no_daemon_socket()}));
  CHECK(run.status.code == 1);
  CHECK(run.err.find("no coordd answers at " + repo.no_daemon_socket()) != std::string::npos);
}
