// coordctl watch --json against a real coordd: the schema of each line and
// the ways a watch ends (--once, --timeout, --max-events).
#include <doctest/doctest.h>

#include <set>

#include "coordd_fixture.hpp"

namespace json = boost::json;
using namespace coordctl_test;

namespace {

std::set<std::string> keys_of(const json::object& obj) {
  std::set<std::string> keys;
  for (const auto& [key, value] : obj) keys.emplace(key);
  return keys;
}

const std::set<std::string> kEventKeys = {"schema_version", "event_type", "kind", "id",
                                          "timestamp",      "data",       "seq",  "root"};

std::string field(const json::object& obj, std::string_view key) {
  auto* value = obj.if_contains(key);
  return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

}  // namespace

TEST_CASE(
    "watch --once --json prints one line per record with exactly Muse's fields plus seq and root") {
  TempRepo repo;
  repo.write("reservations", long_id('a'),
             reservation(long_id('a'), "agent-1", "main", {"a.py::f"}));
  repo.write("intents", "intent-1", json::object{{"intent_id", "intent-1"}, {"run_id", "agent-1"}});
  RunningCoordd coordd(repo);

  RunResult run = run_to_end(
      coordctl({"watch", "--once", "--json", "--root", repo.root(), "--socket", repo.socket()}));
  CHECK(run.status.exited);
  CHECK(run.status.code == 0);
  REQUIRE(run.lines.size() == 2);
  for (const std::string& line : run.lines) {
    json::object event = parse_line(line);
    CHECK(keys_of(event) == kEventKeys);
    CHECK(field(event, "event_type") == "snapshot");
    CHECK(field(event, "schema_version") == "1");
    CHECK(field(event, "root") == repo.root());
    CHECK(event.at("data").is_object());
    CHECK(event.at("seq").is_number());
  }
  CHECK(field(parse_line(run.lines[0]), "id") == long_id('a'));
  CHECK(field(parse_line(run.lines[0]), "kind") == "reservations");
}

TEST_CASE("--timeout 0 is --once") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(coordctl(
      {"watch", "--timeout", "0", "-j", "--root", repo.root(), "--socket", repo.socket()}));
  CHECK(run.status.code == 0);
  REQUIRE(run.lines.size() == 1);
  CHECK(field(parse_line(run.lines[0]), "event_type") == "snapshot");
}

TEST_CASE("--timeout ends a watch with exit 0 after live events have been streamed") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  RunningCoordd coordd(repo);
  ChildProcess watch(coordctl({"watch", "--timeout", "2.5", "--json", "--root", repo.root(),
                               "--socket", repo.socket()}),
                     captured());
  REQUIRE(watch.read_lines(1, 10s));
  repo.write("reservations", "r-2", reservation("r-2", "agent-2", "main", {"b.py::g"}));
  REQUIRE(watch.read_lines(2, 10s));
  CHECK(field(parse_line(watch.lines()[1]), "event_type") == "added");
  CHECK(field(parse_line(watch.lines()[1]), "id") == "r-2");

  std::optional<ExitStatus> status = watch.wait(15s);
  REQUIRE(status.has_value());
  CHECK(status->exited);
  CHECK(status->code == 0);
  CHECK(watch.lines().size() == 2);
}

TEST_CASE("--max-events counts snapshot and change events and then exits 0") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  repo.write("reservations", "r-2", reservation("r-2", "agent-1", "main", {"a.py::g"}));
  RunningCoordd coordd(repo);
  ChildProcess watch(coordctl({"watch", "--max-events", "3", "--json", "--root", repo.root(),
                               "--socket", repo.socket()}),
                     captured());
  REQUIRE(watch.read_lines(2, 10s));
  repo.write("releases", "rel-1",
             json::object{{"reservation_id", "r-1"}, {"run_id", "agent-1"}, {"reason", "done"}});

  std::optional<ExitStatus> status = watch.wait(10s);
  REQUIRE(status.has_value());
  CHECK(status->code == 0);
  REQUIRE(watch.lines().size() == 3);
  CHECK(field(parse_line(watch.lines()[2]), "event_type") == "added");
  CHECK(field(parse_line(watch.lines()[2]), "kind") == "releases");
}

TEST_CASE("--max-events smaller than the snapshot stops within it") {
  TempRepo repo;
  for (const char* id : {"r-1", "r-2", "r-3"})
    repo.write("reservations", id, reservation(id, "a", "main", {"x"}));
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(coordctl(
      {"watch", "--max-events", "2", "--json", "--root", repo.root(), "--socket", repo.socket()}));
  CHECK(run.status.code == 0);
  CHECK(run.lines.size() == 2);
}

TEST_CASE("filters combine: --kind, --run-id and --branch select the same events as in Muse") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"x"}));
  repo.write("reservations", "r-2", reservation("r-2", "agent-2", "main", {"x"}));
  repo.write("reservations", "r-3", reservation("r-3", "agent-1", "feature/x", {"x"}));
  repo.write("intents", "i-1",
             json::object{{"intent_id", "i-1"}, {"run_id", "agent-1"}, {"branch", "main"}});
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(
      coordctl({"watch", "--once", "--json", "--kind", "reservations", "--run-id", "agent-1", "-b",
                "main", "--root", repo.root(), "--socket", repo.socket()}));
  CHECK(run.status.code == 0);
  REQUIRE(run.lines.size() == 1);
  CHECK(field(parse_line(run.lines[0]), "id") == "r-1");
}

TEST_CASE(
    "watch --json prints a record's integers beyond 64 bits with every digit and its "
    "floats as Python does, deep records too, through coordd and standalone") {
  TempRepo repo;
  std::string deep = std::string(900, '[') + std::string(900, ']');
  repo.write_text("intents", "big",
                  R"({"n": 123456789012345678901234567890, "m": 18446744073709551616,)"
                  R"( "f": 1.0, "deep": )" +
                      deep + "}");
  RunningCoordd coordd(repo);

  for (const std::string& socket : {repo.socket(), repo.no_daemon_socket()}) {
    CAPTURE(socket);
    RunResult run = run_to_end(
        coordctl({"watch", "--once", "--json", "--root", repo.root(), "--socket", socket}));
    REQUIRE(run.lines.size() == 1);
    CHECK(run.lines[0].find(R"("data": {"n": 123456789012345678901234567890, )"
                            R"("m": 18446744073709551616, "f": 1.0, "deep": [[[)") !=
          std::string::npos);
  }
}
