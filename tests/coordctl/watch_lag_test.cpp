// A watch that falls behind loses nothing: when coordd drops events for it
// (a `lagged` marker) it catches up from coordd's current records, and when
// coordd cuts it off as a slow consumer it reconnects and resumes. Either way
// every record written while it was stopped is printed exactly once.
#include <doctest/doctest.h>
#include <signal.h>

#include <set>

#include "client/coord_client.hpp"
#include "coordd_fixture.hpp"

namespace json = boost::json;
using namespace coordctl_test;

namespace {

constexpr int kRecords = 1500;  // more than a Unix socket buffer and a 16-line queue hold

std::string id_of(int n) { return "r-" + std::to_string(n); }

void write_records(const TempRepo& repo) {
  for (int n = 0; n < kRecords; ++n) {
    repo.write("reservations", id_of(n), reservation(id_of(n), "agent", "main", {"a.py::f"}));
  }
}

// Every record was printed once, as `added`, after the first line.
void expect_each_added_once(const ChildProcess& watch) {
  std::multiset<std::string> added;
  for (std::size_t i = 1; i < watch.lines().size(); ++i) {
    json::object event = parse_line(watch.lines()[i]);
    CHECK(event.at("event_type") == "added");
    added.insert(std::string(event.at("id").as_string()));
  }
  CHECK(added.size() == std::size_t(kRecords));
  for (int n = 0; n < kRecords; ++n) CHECK(added.count(id_of(n)) == 1);
}

}  // namespace

TEST_CASE("a watch that coordd dropped events for catches up from its records, missing nothing") {
  TempRepo repo;
  repo.write("intents", "first", json::object{{"intent_id", "first"}});
  RunningCoordd coordd(repo, {"--queue-max-events", "16", "--slow-consumer-grace", "600"});
  ChildProcess watch(coordctl({"watch", "--json", "--require-daemon", "--root", repo.root(),
                               "--socket", repo.socket()}),
                     captured());
  REQUIRE(watch.read_lines(1, 10s));
  watch.send_signal(SIGSTOP);
  write_records(repo);
  // Once coordd has handled the last one, it has dropped events for the stopped watch.
  coordd::CoordClient client;
  REQUIRE(client.connect(repo.socket()));
  json::object synced;
  REQUIRE(client.call(json::object{{"op", "sync"}}, synced, coordd::deadline_in(20s)) ==
          coordd::CoordClient::Status::kOk);
  REQUIRE(synced.at("type") == "synced");
  watch.send_signal(SIGCONT);
  REQUIRE_MESSAGE(watch.read_lines(1 + kRecords, 30s), watch.stderr_text());
  REQUIRE(watch.read_stderr_until("catching up from its current records", 5s));
  watch.send_signal(SIGTERM);
  REQUIRE(watch.wait(10s).has_value());
  CHECK(watch.lines().size() == std::size_t(1 + kRecords));
  expect_each_added_once(watch);
}

TEST_CASE("a watch cut off as a slow consumer reconnects and resumes, missing nothing") {
  TempRepo repo;
  repo.write("intents", "first", json::object{{"intent_id", "first"}});
  RunningCoordd coordd(repo, {"--queue-max-events", "16", "--slow-consumer-grace", "0.2"});
  ChildProcess watch(coordctl({"watch", "--json", "--require-daemon", "--root", repo.root(),
                               "--socket", repo.socket()}),
                     captured());
  REQUIRE(watch.read_lines(1, 10s));
  watch.send_signal(SIGSTOP);
  write_records(repo);
  REQUIRE(coordd.logs("disconnecting (slow_consumer)", 20s));
  watch.send_signal(SIGCONT);
  REQUIRE_MESSAGE(watch.read_lines(1 + kRecords, 30s), watch.stderr_text());
  watch.send_signal(SIGTERM);
  REQUIRE(watch.wait(10s).has_value());
  CHECK(watch.lines().size() == std::size_t(1 + kRecords));
  expect_each_added_once(watch);
}
