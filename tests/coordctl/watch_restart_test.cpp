// A watch outlives its daemon: through coordd restarts (a clean SIGTERM and
// a SIGKILL) it prints exactly what one continuous watch would have printed,
// with records changing before, during and after each restart; and when
// coordd stays away it goes on in-process, saying so once.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "coordd_fixture.hpp"

namespace json = boost::json;
using namespace coordctl_test;

namespace {

// event_type, kind, id, and the data as JSON text.
using Printed = std::tuple<std::string, std::string, std::string, std::string>;

Printed printed_of(const std::string& line) {
  json::object event = parse_line(line);
  auto text = [&](std::string_view key) { return std::string(event.at(key).as_string()); };
  return {text("event_type"), text("kind"), text("id"), json::serialize(event.at("data"))};
}

std::vector<Printed> printed_from(const ChildProcess& watch, std::size_t first) {
  std::vector<Printed> out;
  for (std::size_t i = first; i < watch.lines().size(); ++i) {
    out.push_back(printed_of(watch.lines()[i]));
  }
  return out;
}

// Lines `first`.. of the watch are exactly `expected`, in any order but
// with each record's own events in the order given (changes made while no
// daemon ran are reported together, record by record).
void expect_gap(const ChildProcess& watch, std::size_t first, std::vector<Printed> expected) {
  std::vector<Printed> got = printed_from(watch, first);
  auto per_record = [](const std::vector<Printed>& list) {
    std::map<std::pair<std::string, std::string>, std::vector<Printed>> out;
    for (const Printed& p : list) out[{std::get<1>(p), std::get<2>(p)}].push_back(p);
    return out;
  };
  CHECK_MESSAGE(per_record(got) == per_record(expected), "watch output:\n" << watch.stdout_text());
}

std::string text_of(const json::object& record) { return json::serialize(record); }

}  // namespace

TEST_CASE(
    "a watch runs on through two coordd restarts and prints what one continuous watch prints") {
  TempRepo repo;
  json::object r1 = reservation("r-1", "agent-1", "main", {"a.py::f"});
  json::object i1{{"intent_id", "i-1"}, {"run_id", "agent-1"}, {"operation", "edit"}};
  repo.write("reservations", "r-1", r1);
  repo.write("intents", "i-1", i1);
  RunningCoordd coordd(repo);
  ChildProcess watch(coordctl({"watch", "--json", "--require-daemon", "--root", repo.root(),
                               "--socket", repo.socket()}),
                     captured());
  REQUIRE(watch.read_lines(2, 10s));
  CHECK(printed_from(watch, 0) ==
        std::vector<Printed>{{"snapshot", "reservations", "r-1", text_of(r1)},
                             {"snapshot", "intents", "i-1", text_of(i1)}});

  // Before the first restart.
  json::object r2 = reservation("r-2", "agent-2", "main", {"b.py::g"});
  repo.write("reservations", "r-2", r2);
  REQUIRE(watch.read_lines(3, 10s));

  // A clean stop; while no daemon runs: a rewrite in place, a removal, a new
  // record, and a reservation whose new expires_at has passed.
  coordd.stop_with(SIGTERM);
  json::object r2b = reservation("r-2", "agent-2", "main", {"b.py::g", "b.py::h"});
  repo.write_in_place("reservations", "r-2", r2b);
  repo.remove("intents", "i-1");
  json::object r3 = reservation("r-3", "agent-3", "dev", {"c.py::k"});
  repo.write("reservations", "r-3", r3);
  json::object r1b = reservation("r-1", "agent-1", "main", {"a.py::f"}, -1h);
  repo.write("reservations", "r-1", r1b);
  coordd.start();
  REQUIRE_MESSAGE(watch.read_lines(8, 10s), watch.stdout_text() << watch.stderr_text());
  expect_gap(watch, 3,
             {{"modified", "reservations", "r-2", text_of(r2b)},
              {"removed", "intents", "i-1", text_of(i1)},
              {"added", "reservations", "r-3", text_of(r3)},
              {"modified", "reservations", "r-1", text_of(r1b)},
              {"expired", "reservations", "r-1", text_of(r1b)}});

  // After it, then a crash; while no daemon runs: a removal and a release.
  json::object r4 = reservation("r-4", "agent-4", "main", {"d.py::m"});
  repo.write("reservations", "r-4", r4);
  REQUIRE(watch.read_lines(9, 10s));
  coordd.stop_with(SIGKILL);
  repo.remove("reservations", "r-4");
  json::object rel{{"reservation_id", "r-2"}, {"run_id", "agent-2"}, {"reason", "done"}};
  repo.write("releases", "rel-2", rel);
  coordd.start();
  REQUIRE_MESSAGE(watch.read_lines(12, 10s), watch.stdout_text() << watch.stderr_text());
  expect_gap(watch, 9,
             {{"removed", "reservations", "r-4", text_of(r4)},
              {"added", "releases", "rel-2", text_of(rel)},
              {"expired", "reservations", "r-2", text_of(r2b)}});
  CHECK(parse_line(watch.lines()[11]).at("cause") == "released");

  // After the second restart, live again; then nothing more.
  json::object i2{{"intent_id", "i-2"}, {"run_id", "agent-3"}, {"operation", "edit"}};
  repo.write("intents", "i-2", i2);
  REQUIRE(watch.read_lines(13, 10s));
  CHECK(printed_of(watch.lines()[12]) == Printed{"added", "intents", "i-2", text_of(i2)});
  watch.send_signal(SIGINT);
  std::optional<ExitStatus> exit = watch.wait(10s);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 0);
  CHECK(watch.lines().size() == 13);
  CHECK(watch.stderr_text().empty());
}

TEST_CASE("when coordd stays away the watch goes on in-process, says so once, and misses nothing") {
  TempRepo repo;
  json::object r1 = reservation("r-1", "agent-1", "main", {"a.py::f"});
  repo.write("reservations", "r-1", r1);
  auto coordd = std::make_unique<RunningCoordd>(repo);
  ChildProcess watch(
      coordctl({"watch", "--json", "--root", repo.root(), "--socket", repo.socket()}), captured());
  REQUIRE(watch.read_lines(1, 10s));
  coordd->stop_with(SIGTERM);
  json::object r2 = reservation("r-2", "agent-2", "main", {"b.py::g"});
  repo.write("reservations", "r-2", r2);
  REQUIRE(watch.read_stderr_until("watching in-process", 15s));
  REQUIRE(watch.read_lines(2, 10s));
  CHECK(printed_of(watch.lines()[1]) == Printed{"added", "reservations", "r-2", text_of(r2)});
  repo.remove("reservations", "r-1");
  REQUIRE(watch.read_lines(3, 10s));
  CHECK(printed_of(watch.lines()[2]) == Printed{"removed", "reservations", "r-1", text_of(r1)});
  watch.send_signal(SIGTERM);
  REQUIRE(watch.wait(10s).has_value());
  CHECK(watch.lines().size() == 3);
  std::string err = watch.stderr_text();
  CHECK(err.find("went away") != std::string::npos);
  CHECK(err.find("went away") == err.rfind("went away"));
}

TEST_CASE("with --require-daemon a watch whose coordd stays away fails with exit 1") {
  TempRepo repo;
  repo.write("reservations", "r-1", reservation("r-1", "agent-1", "main", {"a.py::f"}));
  auto coordd = std::make_unique<RunningCoordd>(repo);
  ChildProcess watch(coordctl({"watch", "--json", "--require-daemon", "--root", repo.root(),
                               "--socket", repo.socket()}),
                     captured());
  REQUIRE(watch.read_lines(1, 10s));
  coordd->stop_with(SIGTERM);
  std::optional<ExitStatus> exit = watch.wait(15s);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 1);
  CHECK(watch.stderr_text().find("went away and did not come back") != std::string::npos);
}
