// --mirror: node a writes the other hosts' records into its own
// .muse/coordination/ (so Muse's own tools see the swarm) and never
// publishes those copies back; a copy goes with its origin's record, a copy
// deleted locally deletes nothing elsewhere, and a restart repairs what
// changed while a was down. Every scenario ends converged: each node's list
// equals the union of the disks, copies not counted (Swarm::disks).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/cluster/swarm_fixture.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::swarm {
namespace {

// The file <dir>/<id>.json as JSON, or null when it is not there.
json::value file_json(const fs::path& dir, std::string_view id) {
  std::ifstream in(dir / (std::string(id) + ".json"));
  if (!in) return nullptr;
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value parsed = json::parse(text.str(), ec);
  return ec ? json::value(nullptr) : parsed;
}

// Waits until `check` holds for the file's JSON (null when absent).
template <typename Check>
void wait_file(const fs::path& dir, std::string_view id, Check check, const Node& node,
               const char* what) {
  bool ok = support::poll_until(support::PollClock::now() + 10s,
                                [&] { return check(file_json(dir, id)); });
  REQUIRE_MESSAGE(ok, what << ": " << (dir / id).string() << " is "
                           << json::serialize(file_json(dir, id)) << "\nnode " << node.host
                           << "'s log:\n"
                           << node.daemon->log());
}

std::size_t listed(Node& node, std::string_view id, json::object filters = {}) {
  EventReader reader = node.daemon->connect();
  filters["op"] = "list";
  std::size_t n = 0;
  json::object reply = reader.call(filters);
  for (const json::value& record : reply.at("records").as_array()) {
    if (record.at("id").as_string() == id) ++n;
  }
  return n;
}

json::object mirror_status(Node& node) {
  EventReader reader = node.daemon->connect();
  return reader.call({{"op", "status"}}).at("cluster").as_object();
}

}  // namespace

TEST_CASE(
    "--mirror writes other hosts' records into the local directory with their origin, never "
    "publishes them back, and removes them with their origin's record") {
  Swarm swarm;
  Node& a = swarm.node(0);
  Node& b = swarm.node(1);
  swarm.restart(0, {"--mirror", a.ws->repo().string()});
  fs::path a_reservations = a.ws->kind_dir("reservations");
  fs::path a_tasks = a.ws->kind_dir("tasks");
  write_record_atomic(b.ws->kind_dir("reservations"), "r-b",
                      reservation("r-b", "2999-01-01T00:00:00Z", "run-b"));
  write_record_atomic(b.ws->kind_dir("tasks"), "t-b", {{"task_id", "t-b"}});

  wait_file(
      a_reservations, "r-b",
      [](const json::value& v) {
        return v.is_object() && v.as_object().contains("reservation_id");
      },
      a, "b's reservation mirrored on a");
  json::object copy = file_json(a_reservations, "r-b").as_object();
  CHECK(copy.at("coordd_mirror_of") == "b");
  CHECK(copy.at("run_id") == "run-b");
  wait_file(
      a_tasks, "t-b", [](const json::value& v) { return v.is_object(); }, a, "b's task mirrored");
  // One view everywhere: a lists r-b once, as b's; c hears nothing from a.
  swarm.expect_all_converged();
  CHECK(listed(a, "r-b") == 1);
  CHECK(listed(a, "r-b", {{"origin", "local"}}) == 0);
  CHECK(listed(swarm.node(2), "r-b", {{"origin", json::array{"a"}}}) == 0);
  json::object status = mirror_status(a);
  CHECK(status.at("repos").as_array()[0].at("mirror") == true);
  CHECK(status.at("mirror").at("written").to_number<std::uint64_t>() >= 2);

  SUBCASE("a change at the origin rewrites the copy; a removal there removes it") {
    write_record_atomic(b.ws->kind_dir("reservations"), "r-b",
                        reservation("r-b", "2999-06-01T00:00:00Z", "run-b"));
    wait_file(
        a_reservations, "r-b",
        [](const json::value& v) {
          return v.is_object() && v.as_object().at("expires_at") == "2999-06-01T00:00:00Z";
        },
        a, "b's change mirrored");
    remove_record(b.ws->kind_dir("reservations"), "r-b");
    wait_file(
        a_reservations, "r-b", [](const json::value& v) { return v.is_null(); }, a,
        "b's removal mirrored");
    swarm.expect_all_converged();
    CHECK(listed(a, "r-b") == 0);
  }
  SUBCASE("a copy deleted on a (muse coord gc) is no deletion at its origin") {
    remove_record(a_tasks, "t-b");
    swarm.expect_all_converged();
    CHECK(listed(b, "t-b") == 1);
    CHECK(listed(a, "t-b", {{"origin", json::array{"b"}}}) == 1);
  }
  SUBCASE("a local record of the same id is never overwritten") {
    write_record_atomic(a_tasks, "shared", {{"task_id", "shared"}, {"by", "a"}});
    swarm.settle(0);
    write_record_atomic(b.ws->kind_dir("tasks"), "shared", {{"task_id", "shared"}, {"by", "b"}});
    swarm.expect_all_converged();
    CHECK(file_json(a_tasks, "shared").at("by") == "a");
    CHECK(mirror_status(a).at("mirror").at("conflicts").to_number<std::uint64_t>() >= 1);
    CHECK(listed(a, "shared") == 2);  // a's and b's, each with its origin
  }
  SUBCASE("after a restart, copies of records removed meanwhile go and new ones come") {
    write_record_atomic(b.ws->kind_dir("intents"), "i-b", {{"intent_id", "i-b"}});
    wait_file(
        a.ws->kind_dir("intents"), "i-b", [](const json::value& v) { return v.is_object(); }, a,
        "b's intent mirrored");
    swarm.stop(0);
    remove_record(b.ws->kind_dir("intents"), "i-b");
    write_record_atomic(b.ws->kind_dir("intents"), "i-b2", {{"intent_id", "i-b2"}});
    swarm.settle(1);
    swarm.restart(0);
    wait_file(
        a.ws->kind_dir("intents"), "i-b", [](const json::value& v) { return v.is_null(); }, a,
        "the stale copy removed at restart");
    wait_file(
        a.ws->kind_dir("intents"), "i-b2", [](const json::value& v) { return v.is_object(); }, a,
        "the new record mirrored at restart");
    swarm.expect_all_converged();
    // Values read at catch-up were stored long ago: their age is no clock skew.
    json::object b_on_a = mirror_status(a).at("origins").at("b").as_object();
    CHECK(std::abs(b_on_a.at("skew_ms").to_number<std::int64_t>()) < 1000);
    CHECK(a.daemon->log().find("clock is about") == std::string::npos);
  }
}

}  // namespace coordd::swarm
