// coordctl reserve, heartbeat and release against a real coordd (and
// standalone, with none): the records they write are the leases coordd then
// reports, the conflict warning names the holder, and what cannot be renewed
// or released is refused with its own exit status.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/coord_client.hpp"
#include "coordd_fixture.hpp"
#include "proto/timestamp.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace coordctl_test;
using coordd::CoordClient;

namespace {

// A connection subscribed to `kinds` of the repo's live events (no snapshot).
CoordClient subscribed(const TempRepo& repo, json::array kinds) {
  CoordClient client;
  REQUIRE(client.connect(repo.socket()));
  json::object reply;
  REQUIRE(client.call(json::object{{"op", "subscribe"},
                                   {"kinds", std::move(kinds)},
                                   {"root", repo.root()},
                                   {"snapshot", false}},
                      reply, coordd::deadline_in(10s)) == CoordClient::Status::kOk);
  REQUIRE(reply.at("type") == "subscribed");
  return client;
}

// The next event on `client` of `event_type` for record `id` (10 s at most).
json::object next_event(CoordClient& client, std::string_view event_type, std::string_view id) {
  auto deadline = coordd::deadline_in(10s);
  for (;;) {
    std::string line;
    REQUIRE(client.read_line(line, deadline) == CoordClient::Status::kOk);
    json::object parsed = json::parse(line).as_object();
    if (parsed.at("type") == "event" && parsed.at("event_type").as_string() == event_type &&
        parsed.at("id").as_string() == id) {
      return parsed;
    }
  }
}

// The reservation records coordd lists for the repo, by file id.
json::object listed_reservation(const TempRepo& repo, const std::string& id) {
  CoordClient client;
  REQUIRE(client.connect(repo.socket()));
  json::object reply;
  REQUIRE(client.call(
              json::object{
                  {"op", "list"}, {"kinds", json::array{"reservation"}}, {"root", repo.root()}},
              reply, coordd::deadline_in(10s)) == CoordClient::Status::kOk);
  for (const json::value& record : reply.at("records").as_array()) {
    if (record.at("id").as_string() == id) return record.as_object();
  }
  FAIL("coordd does not list reservation " << id);
  return {};
}

std::vector<std::string> coordctl_in(const TempRepo& repo, const std::string& socket,
                                     std::vector<std::string> args) {
  args.insert(args.end(), {"--root", repo.root(), "--socket", socket});
  return coordctl(std::move(args));
}

std::string first_line(const RunResult& run) { return run.lines.empty() ? "" : run.lines[0]; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  return names;
}

// No file in `dir` (or no `dir`).
bool nothing_in(const fs::path& dir) { return !fs::exists(dir) || fs::is_empty(dir); }

fs::path coordination(const TempRepo& repo) { return fs::path(repo.root()) / ".muse/coordination"; }

}  // namespace

TEST_CASE("reserve writes a reservation that coordd then reports as an active lease") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  CoordClient events = subscribed(repo, {"reservation"});
  RunResult run = run_to_end(
      coordctl_in(repo, repo.socket(),
                  {"reserve", "a.py::f", "b.py::g", "--run-id", "agent-1", "--ttl", "600"}));
  CHECK(run.status.code == 0);
  std::string id = first_line(run);
  REQUIRE(id.size() == 64);

  json::object added = next_event(events, "added", id);
  CHECK(added.at("data").at("reservation_id").as_string() == id);
  CHECK(added.at("data").at("run_id") == "agent-1");
  CHECK(added.at("data").at("addresses") == json::array{"a.py::f", "b.py::g"});
  json::object listed = listed_reservation(repo, id);
  CHECK(listed.at("active") == true);
  CHECK(listed.at("effective_expires_at") == added.at("data").at("expires_at"));
}

TEST_CASE("reserve's write leaves only <id>.json behind: the temp file was renamed, not copied") {
  TempRepo repo;
  fs::remove_all(coordination(repo) / "reservations");  // the command makes the directory
  RunResult run = run_to_end(
      coordctl_in(repo, repo.no_daemon_socket(), {"reserve", "a.py::f", "--run-id", "agent-1"}));
  CHECK(run.status.code == 0);
  CHECK(names_in(coordination(repo) / "reservations") ==
        std::vector<std::string>{first_line(run) + ".json"});
}

TEST_CASE("reserve warns about an address another active reservation holds, naming the holder") {
  TempRepo repo;
  repo.write("reservations", "r-other", reservation("r-other", "agent-2", "main", {"a.py::f"}));
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(
      coordctl_in(repo, repo.socket(), {"reserve", "a.py::f", "c.py::h", "--run-id", "agent-1"}));
  CHECK(run.status.code == 0);
  CHECK(run.err.find("a.py::f is already held by agent-2 (reservation r-other, ") !=
        std::string::npos);
  CHECK(run.err.find(" left)") != std::string::npos);
  CHECK(run.err.find("c.py::h") == std::string::npos);
  CHECK(run.err.find("local view") == std::string::npos);
  CHECK(fs::exists(coordination(repo) / "reservations" / (first_line(run) + ".json")));
}

TEST_CASE("reserve warns about nothing when no active reservation holds its addresses") {
  TempRepo repo;
  repo.write("reservations", "r-other", reservation("r-other", "agent-2", "main", {"a.py::f"}));
  repo.write("reservations", "r-old",
             reservation("r-old", "agent-3", "main", {"b.py::g"}, -std::chrono::minutes(1)));
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(coordctl_in(repo, repo.socket(), {"reserve", "b.py::g"}));
  CHECK(run.status.code == 0);
  CHECK(run.err == "");
}

TEST_CASE("reserve --exclusive refuses a held address with exit 3 and writes nothing") {
  TempRepo repo;
  repo.write("reservations", "r-other", reservation("r-other", "agent-2", "main", {"a.py::f"}));
  RunningCoordd coordd(repo);
  RunResult run =
      run_to_end(coordctl_in(repo, repo.socket(), {"reserve", "--exclusive", "a.py::f"}));
  CHECK(run.status.code == 3);
  CHECK(run.out == "");
  CHECK(run.err.find("already held by agent-2") != std::string::npos);
  CHECK(names_in(coordination(repo) / "reservations") == std::vector<std::string>{"r-other.json"});
}

TEST_CASE("reserve --json prints the record exactly as it wrote it") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  RunResult run = run_to_end(coordctl_in(
      repo, repo.socket(), {"reserve", "a.py::f", "--op", "rename", "--branch", "dev", "--json"}));
  CHECK(run.status.code == 0);
  json::object record = json::parse(run.out).as_object();
  std::string id(record.at("reservation_id").as_string());
  CHECK(record.at("operation") == "rename");
  CHECK(record.at("branch") == "dev");
  CHECK(record.at("schema_version") == 1);
  CHECK(read_file(coordination(repo) / "reservations" / (id + ".json")) + "\n" == run.out);
}

TEST_CASE("heartbeat extends the lease's effective expiry as coordd reports it") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  std::string id = first_line(
      run_to_end(coordctl_in(repo, repo.socket(), {"reserve", "a.py::f", "--ttl", "60"})));
  CoordClient events = subscribed(repo, {"heartbeat"});
  RunResult run =
      run_to_end(coordctl_in(repo, repo.socket(), {"heartbeat", id, "--extend", "7200"}));
  CHECK(run.status.code == 0);
  json::object added = next_event(events, "added", first_line(run));
  CHECK(added.at("data").at("reservation_id").as_string() == id);

  json::object listed = listed_reservation(repo, id);
  CHECK(listed.at("active") == true);
  CHECK(listed.at("effective_expires_at") == added.at("data").at("extended_expires_at"));
  auto expiry = coordd::parse_timestamp(listed.at("effective_expires_at").as_string());
  REQUIRE(expiry);
  CHECK(*expiry > std::chrono::system_clock::now() + std::chrono::hours(1));
}

TEST_CASE("release makes coordd report the reservation expired with cause released") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  std::string id = first_line(run_to_end(coordctl_in(repo, repo.socket(), {"reserve", "a.py::f"})));
  CoordClient events = subscribed(repo, {"reservation"});
  RunResult run = run_to_end(
      coordctl_in(repo, repo.socket(), {"release", id, "--reason", "abandoned", "--json"}));
  CHECK(run.status.code == 0);
  json::object record = json::parse(run.out).as_object();
  CHECK(record.at("reservation_id").as_string() == id);
  CHECK(record.at("reason") == "abandoned");
  json::object expired = next_event(events, "expired", id);
  CHECK(expired.at("cause") == "released");
}

TEST_CASE("heartbeat and release refuse a reservation id nobody knows, with exit 4") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  RunResult beat =
      run_to_end(coordctl_in(repo, repo.socket(), {"heartbeat", "r-nobody", "--extend", "60"}));
  CHECK(beat.status.code == 4);
  CHECK(beat.err.find("no reservation r-nobody is known to coordd") != std::string::npos);
  RunResult release = run_to_end(coordctl_in(repo, repo.socket(), {"release", "r-nobody"}));
  CHECK(release.status.code == 4);
  CHECK(nothing_in(coordination(repo) / "heartbeats"));
  CHECK(nothing_in(coordination(repo) / "releases"));
}

TEST_CASE("a released reservation is neither renewed nor released again: exit 5") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  std::string id = first_line(run_to_end(coordctl_in(repo, repo.socket(), {"reserve", "a.py::f"})));
  CoordClient events = subscribed(repo, {"reservation"});
  REQUIRE(run_to_end(coordctl_in(repo, repo.socket(), {"release", id})).status.code == 0);
  next_event(events, "expired", id);
  CHECK(run_to_end(coordctl_in(repo, repo.socket(), {"release", id})).status.code == 5);
  CHECK(run_to_end(coordctl_in(repo, repo.socket(), {"heartbeat", id, "--extend", "60"}))
            .status.code == 5);
}

TEST_CASE("without a coordd the commands read the files and say the view is local only") {
  TempRepo repo;
  repo.write("reservations", "r-other", reservation("r-other", "agent-2", "main", {"a.py::f"}));
  RunResult run = run_to_end(coordctl_in(repo, repo.no_daemon_socket(), {"reserve", "a.py::f"}));
  CHECK(run.status.code == 0);
  CHECK(run.err.find("no coordd answers at " + repo.no_daemon_socket()) != std::string::npos);
  CHECK(run.err.find("local view") != std::string::npos);
  CHECK(run.err.find("already held by agent-2 (reservation r-other") != std::string::npos);
  std::string id = first_line(run);
  RunResult beat =
      run_to_end(coordctl_in(repo, repo.no_daemon_socket(), {"heartbeat", id, "--extend", "60"}));
  CHECK(beat.status.code == 0);
  CHECK(fs::exists(coordination(repo) / "heartbeats" / (first_line(beat) + ".json")));
  RunResult release = run_to_end(coordctl_in(repo, repo.no_daemon_socket(), {"release", id}));
  CHECK(release.status.code == 0);
  CHECK(run_to_end(coordctl_in(repo, repo.no_daemon_socket(), {"release", id})).status.code == 5);
}

TEST_CASE("reserve refuses a symlinked coordination directory and writes nothing") {
  TempRepo repo;
  fs::path real = fs::path(repo.root()) / "elsewhere";
  fs::rename(coordination(repo), real);
  fs::create_directory_symlink(real, coordination(repo));
  RunResult run = run_to_end(coordctl_in(repo, repo.no_daemon_socket(), {"reserve", "a.py::f"}));
  CHECK(run.status.code == 1);
  CHECK(run.err.find("symlink") != std::string::npos);
  CHECK(nothing_in(real / "reservations"));
}
