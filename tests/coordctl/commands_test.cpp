// coordctl list, status and ping against a real coordd.
#include <doctest/doctest.h>

#include "coordd_fixture.hpp"

namespace json = boost::json;
using namespace coordctl_test;

TEST_CASE("ping prints a pong with the daemon's version and exits 0") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(coordctl({"ping", "--socket", repo.socket()}));
  CHECK(run.status.code == 0);
  CHECK(run.out.starts_with("pong from coordd/"));
  CHECK(run.out.find(" at " + repo.socket() + " (epoch ") != std::string::npos);
}

TEST_CASE("ping exits 1 and says how to start coordd when none answers") {
  TempRepo repo;
  RunResult run = run_to_end(coordctl({"ping", "--socket", repo.no_daemon_socket()}));
  CHECK(run.status.code == 1);
  CHECK(run.err.find("no coordd answers at " + repo.no_daemon_socket()) != std::string::npos);
  CHECK(run.err.find("coordd --root") != std::string::npos);
}

TEST_CASE("COORDD_SOCKET stands in for --socket") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(coordctl({"ping"}), {"COORDD_SOCKET=" + repo.socket()});
  CHECK(run.status.code == 0);
}

TEST_CASE("list prints a table with full ids, addresses and the time left of each lease") {
  TempRepo repo;
  std::string id = long_id('l');
  repo.write("reservations", id,
             reservation(id, "agent-1", "main", {"a", "b", "c", "d"}, std::chrono::minutes(10)));
  repo.write("intents", "i-1", json::object{{"intent_id", "i-1"}, {"run_id", "agent-2"}});
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(coordctl({"list", "--root", repo.root(), "--socket", repo.socket()}));
  CHECK(run.status.code == 0);
  CHECK(run.out.find(id) != std::string::npos);
  CHECK(run.out.find("agent-1@main") != std::string::npos);
  CHECK(run.out.find("a, b, c +1 more") != std::string::npos);
  CHECK(run.out.find("(in 9m") != std::string::npos);
  CHECK(run.out.find("2 records") != std::string::npos);
}

TEST_CASE("list --json --active prints the active leases as a JSON array") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a"}));
  repo.write("reservations", "r-2", reservation("r-2", "agent-1", "main", {"b"}));
  repo.write("releases", "rel-2",
             json::object{{"reservation_id", "r-2"}, {"run_id", "agent-1"}, {"reason", "done"}});
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(
      coordctl({"list", "--active", "--json", "--root", repo.root(), "--socket", repo.socket()}));
  CHECK(run.status.code == 0);
  json::value records = json::parse(run.out);
  REQUIRE(records.is_array());
  REQUIRE(records.get_array().size() == 1);
  CHECK(records.get_array()[0].at("id") == "r-1");
  CHECK(records.get_array()[0].at("active") == true);
}

TEST_CASE(
    "list refuses a repository the daemon does not watch and says how to start coordd for it") {
  TempRepo watched;
  TempRepo other;
  RunningCoordd coordd(watched);
  RunResult run =
      run_to_end(coordctl({"list", "--root", other.root(), "--socket", watched.socket()}));
  CHECK(run.status.code == 1);
  CHECK(run.err.find("does not watch " + other.root()) != std::string::npos);
  CHECK(run.err.find("coordd --root " + other.root()) != std::string::npos);
}

TEST_CASE("status summarises the daemon readably, and --json gives its reply") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a"}));
  RunningCoordd coordd(repo);
  RunResult text = run_to_end(coordctl({"status", "--socket", repo.socket()}));
  CHECK(text.status.code == 0);
  CHECK(text.out.find("backend        inotify") != std::string::npos);
  CHECK(text.out.find("roots          " + repo.root()) != std::string::npos);
  CHECK(text.out.find("records        1 (reservation 1)") != std::string::npos);

  RunResult raw = run_to_end(coordctl({"status", "--json", "--socket", repo.socket()}));
  CHECK(raw.status.code == 0);
  json::object status = parse_line(raw.lines.at(0));
  CHECK(status.at("type") == "status");
  CHECK(status.at("active_leases") == 1);
  CHECK_FALSE(status.contains("req"));
}

TEST_CASE("every command's --help says what it does and shows an example") {
  for (const char* command :
       {"watch", "list", "status", "ping", "send", "broadcast", "recv", "tap"}) {
    CAPTURE(command);
    RunResult run = run_to_end(coordctl({command, "--help"}));
    CHECK(run.status.code == 0);
    CHECK(run.out.find("Examples:") != std::string::npos);
    CHECK(run.out.find("--socket") != std::string::npos);
  }
}
