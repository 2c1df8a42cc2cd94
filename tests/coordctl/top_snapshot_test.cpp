// coordctl top with stdout not a terminal (a pipe), or with --json: one
// snapshot, then exit.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <functional>

#include "client/agent_text.hpp"
#include "coordd_fixture.hpp"

using namespace coordctl_test;
namespace json = boost::json;

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

const json::object* item_where(const json::object& top, std::string_view list, std::string_view key,
                               std::string_view value) {
  for (const json::value& item : top.at(list).as_array()) {
    const json::value* field = item.as_object().if_contains(key);
    if (field && field->is_string() && field->get_string() == value) return &item.as_object();
  }
  return nullptr;
}

// `coordctl top --json`'s object, taken again until `ready` holds of it
// (failing the test if it does not within `within`).
json::object top_json_when(const TempRepo& repo,
                           const std::function<bool(const json::object&)>& ready,
                           std::chrono::milliseconds within = 10s) {
  auto deadline = std::chrono::steady_clock::now() + within;
  for (;;) {
    RunResult run = run_to_end(coordctl({"top", "--json", "--socket", repo.socket()}));
    INFO(run.err);
    REQUIRE(run.status.code == 0);
    REQUIRE(run.lines.size() == 1);  // one object, one line
    json::object top = parse_line(run.lines[0]);
    if (ready(top)) return top;
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("top --json never showed what was expected; last: " << run.lines[0]);
    }
  }
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

TEST_CASE("top --json prints one JSON line: the agents, what waits for each, and the leases") {
  TempRepo repo;
  const std::string odd_address = "shop/\x1b[31mbilling.py::total\t(v2)";
  repo.write("reservations", "res-7",
             reservation("res-7", "agent-42", "main", {"billing.py::compute_total", odd_address},
                         std::chrono::minutes(10)));
  RunningCoordd coordd(repo);
  // agent-42's mailbox, left by a recv that found nothing, then one message for it.
  REQUIRE(run_to_end(coordctl({"recv", "--socket", repo.socket(), "--agent", "agent-42"}))
              .status.code == 3);
  RunResult sent =
      run_to_end(coordctl({"send", "--socket", repo.socket(), "--to", "agent-42", "--kind",
                           "additional_context", "--field", "content=rerun billing"}));
  REQUIRE(sent.status.code == 0);

  json::object top = top_json_when(repo, [](const json::object& top) {
    const json::object* agent = item_where(top, "agents", "name", "agent-42");
    return agent && agent->at("state") == "away" && agent->at("waiting") == 1;
  });
  CHECK(std::string_view(top.at("server").as_string()).starts_with("coordd/"));
  CHECK(top.at("socket").as_string() == repo.socket());
  const json::object* lease = item_where(top, "leases", "id", "res-7");
  REQUIRE(lease);
  CHECK(lease->at("run_id") == "agent-42");
  CHECK(lease->at("kind") == "reservation");
  CHECK(lease->at("addresses") == json::array{"billing.py::compute_total", odd_address});
  REQUIRE(lease->at("seconds_left").is_int64());
  CHECK(lease->at("seconds_left").as_int64() > 0);
  CHECK(lease->at("seconds_left").as_int64() <= 600);
  CHECK(lease->at("expires_at").is_string());
  const json::object* message = item_where(top, "messages", "to", "agent-42");
  REQUIRE(message);
  CHECK(message->at("summary") == "rerun billing");
  CHECK(top.at("rates").is_null());
}

TEST_CASE("top --json exits 1, prints nothing and says how to start coordd when none answers") {
  TempRepo repo;
  RunResult run = run_to_end(coordctl({"top", "--json", "--socket", repo.no_daemon_socket()}));
  CHECK(run.status.code == 1);
  CHECK(run.out.empty());
  CHECK(run.err.find("no coordd answers at " + repo.no_daemon_socket()) != std::string::npos);
}
