// Records shared across a swarm: three coordd instances, each with its own
// clone of one repository (one repo id), joined through a real 3-node NATS
// JetStream cluster. Each scenario ends with every node's list equal to the
// union of every node's disk after sync {"scope":"cluster"}.
#include <doctest/doctest.h>

#include <fstream>

#include "proto/timestamp.hpp"
#include "tests/cluster/swarm_fixture.hpp"
#include "tests/support/poll_until.hpp"
#include "tests/support/program_paths.hpp"

namespace coordd::swarm {
namespace {

// The first event line of `lines` of this type and id.
const json::object* find_event(const std::vector<json::object>& lines, std::string_view type,
                               std::string_view id) {
  for (const json::object& line : lines) {
    if (line.at("type") == "event" && line.at("event_type").as_string() == type &&
        line.at("id").as_string() == id) {
      return &line;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE(
    "a reservation taken on one host is seen on the others with its origin, and so are its "
    "heartbeat, release and removal") {
  Swarm swarm;
  EventReader on_b = swarm.node(1).daemon->connect();
  on_b.subscribe();
  EventReader on_c = swarm.node(2).daemon->connect();
  on_c.subscribe({{"origin", "remote"}});

  fs::path a_reservations = swarm.node(0).ws->kind_dir("reservations");
  write_record_atomic(a_reservations, "r-1", reservation("r-1", "2999-01-01T00:00:00Z"));
  std::vector<json::object> lines = on_b.read_until(event_for("added", "r-1"), 10s);
  const json::object* added = find_event(lines, "added", "r-1");
  REQUIRE(added != nullptr);
  CHECK(added->at("origin") == "a");
  CHECK(added->at("root").as_string() == swarm.node(1).ws->repo().string());
  CHECK(added->at("data").at("reservation_id") == "r-1");
  on_c.read_until(event_for("added", "r-1"), 10s);

  write_record_atomic(swarm.node(0).ws->kind_dir("heartbeats"), "hb-1",
                      {{"reservation_id", "r-1"}, {"extended_expires_at", "2999-06-01T00:00:00Z"}});
  on_b.read_until(event_for("added", "hb-1"), 10s);
  write_record_atomic(swarm.node(0).ws->kind_dir("releases"), "rel-1",
                      {{"reservation_id", "r-1"}, {"reason", "done"}});
  lines = on_b.read_until(event_for("added", "rel-1"), 10s);
  swarm.expect_all_converged();

  remove_record(a_reservations, "r-1");
  on_b.read_until(event_for("removed", "r-1"), 10s);
  on_c.read_until(event_for("removed", "r-1"), 10s);
  swarm.expect_all_converged();
}

TEST_CASE("records written on every host merge into one view on each, each naming its origin") {
  Swarm swarm;
  for (int i = 0; i < swarm.size(); ++i) {
    write_record_atomic(swarm.node(i).ws->kind_dir("tasks"), "t-" + swarm.node(i).host,
                        {{"task_id", "t-" + swarm.node(i).host}, {"by", swarm.node(i).host}});
    write_record_atomic(swarm.node(i).ws->kind_dir("intents"), "same-id",
                        {{"intent_id", "same-id"}, {"by", swarm.node(i).host}});
  }
  swarm.expect_all_converged();
  // The origin filter: local, remote, or named hosts.
  EventReader reader = swarm.node(0).daemon->connect();
  auto count = [&](json::object request) {
    request["op"] = "list";
    return reader.call(std::move(request)).at("records").as_array().size();
  };
  CHECK(count({}) == 6);
  CHECK(count({{"origin", "local"}}) == 2);
  CHECK(count({{"origin", "remote"}}) == 4);
  CHECK(count({{"origin", json::array{"b"}}}) == 2);
  CHECK(count({{"origin", json::array{"a", "c"}}, {"kinds", json::array{"task"}}}) == 2);
  json::object bad = reader.call({{"op", "list"}, {"origin", "elsewhere"}});
  CHECK(bad.at("type") == "error");
  CHECK(bad.at("code") == "bad_field");
}

TEST_CASE(
    "a coordd restarted after its files changed while it was down announces only what changed "
    "and takes back from the swarm what was deleted") {
  Swarm swarm;
  fs::path tasks = swarm.node(0).ws->kind_dir("tasks");
  for (std::string id : {"keep", "change", "delete"}) {
    write_record_atomic(tasks, id, {{"task_id", id}, {"v", 1}});
  }
  swarm.expect_all_converged();
  EventReader on_b = swarm.node(1).daemon->connect();
  Subscribed sub = on_b.subscribe();

  swarm.stop(0);
  write_record_atomic(tasks, "change", {{"task_id", "change"}, {"v", 2}});
  remove_record(tasks, "delete");
  write_record_atomic(tasks, "new", {{"task_id", "new"}, {"v", 1}});
  swarm.restart(0);
  swarm.expect_all_converged();

  // B heard exactly the differences: nothing about "keep".
  std::vector<json::object> lines = on_b.read_until(event_for("added", "new"), 10s);
  if (!find_event(lines, "removed", "delete")) {
    auto more = on_b.read_until(event_for("removed", "delete"), 10s);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  if (!find_event(lines, "modified", "change")) {
    auto more = on_b.read_until(event_for("modified", "change"), 10s);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  for (const json::object& line : lines) {
    if (line.at("type") == "event") CHECK(line.at("id") != "keep");
  }
}

TEST_CASE("a coordd whose link to NATS is cut keeps serving locally and converges once healed") {
  Swarm swarm;
  swarm.expect_all_converged();
  swarm.node(1).cut();
  EventReader on_b = swarm.node(1).daemon->connect();
  on_b.subscribe();
  // Local service goes on while the swarm is away.
  write_record_atomic(swarm.node(1).ws->kind_dir("tasks"), "while-cut", {{"task_id", "while-cut"}});
  on_b.read_until(event_for("added", "while-cut"), 5s);
  write_record_atomic(swarm.node(0).ws->kind_dir("tasks"), "from-a", {{"task_id", "from-a"}});
  json::object refused = swarm.sync(1, 2000);
  bool unavailable = support::poll_until(support::PollClock::now() + 10s, [&] {
    refused = swarm.sync(1, 2000);
    return refused.at("type") == "error";
  });
  REQUIRE_MESSAGE(unavailable, json::serialize(refused));
  CHECK(refused.at("code") == "cluster_unavailable");

  swarm.node(1).heal();
  swarm.expect_all_converged();
}

TEST_CASE("the NATS server a coordd uses is killed: it moves to another and converges") {
  Swarm swarm;
  swarm.expect_all_converged();
  swarm.nats().kill(0);  // node a's first server: it fails over to server 1
  write_record_atomic(swarm.node(0).ws->kind_dir("tasks"), "during", {{"task_id", "during"}});
  write_record_atomic(swarm.node(2).ws->kind_dir("tasks"), "from-c", {{"task_id", "from-c"}});
  swarm.expect_all_converged();
  swarm.nats().start(0);
  write_record_atomic(swarm.node(1).ws->kind_dir("tasks"), "after", {{"task_id", "after"}});
  swarm.expect_all_converged();
}

TEST_CASE("a short lease taken on one host expires on every host within a second of its instant") {
  Swarm swarm;
  std::vector<EventReader> readers;
  for (int i = 0; i < swarm.size(); ++i) {
    readers.push_back(swarm.node(i).daemon->connect());
    readers.back().subscribe({{"kinds", json::array{"reservation"}}});
  }
  auto expires = std::chrono::system_clock::now() + 3s;
  std::string at =
      format_timestamp(std::chrono::time_point_cast<std::chrono::microseconds>(expires));
  write_record_atomic(swarm.node(0).ws->kind_dir("reservations"), "short",
                      reservation("short", at));
  for (EventReader& reader : readers) {
    std::vector<json::object> lines = reader.read_until(event_for("expired", "short"), 10s);
    std::optional<WallTime> when = parse_timestamp(lines.back().at("timestamp").as_string());
    REQUIRE(when);
    auto late = *when - std::chrono::time_point_cast<std::chrono::microseconds>(expires);
    CHECK(late >= std::chrono::microseconds(0));
    CHECK(late < 1s);
  }
}

}  // namespace coordd::swarm

namespace coordd::swarm {

TEST_CASE(
    "a second coordd claiming a live host id is refused, keeps serving locally, and joins once "
    "the holder has gone") {
  Swarm swarm(2);
  swarm.expect_all_converged();  // a and b hold their ids
  support::WorkspaceOptions options;
  options.label = "coordd-swarm-impostor";
  Workspace ws(options);
  write_record_atomic(ws.kind_dir("tasks"), "mine", {{"task_id", "mine"}});
  DaemonProcess impostor(
      ws, {"--cluster", swarm.nats().urls(), "--cluster-name", "swarmtest", "--host-id", "a",
           "--repo-id", ws.repo().string() + "=" + std::string(kRepoId), "--state-dir", "none"});
  EventReader reader = impostor.connect();
  json::object cluster;
  bool refused = support::poll_until(support::PollClock::now() + 15s, [&] {
    cluster = reader.call({{"op", "status"}}).at("cluster").as_object();
    return cluster.contains("error");
  });
  REQUIRE_MESSAGE(refused, json::serialize(cluster));
  CHECK(std::string(cluster.at("error").as_string()).find("host id a is held by another live") !=
        std::string::npos);
  CHECK(cluster.at("joined") == false);
  CHECK(impostor.log().find("give this one another --host-id") != std::string::npos);
  // It serves its own records, and the swarm never sees them.
  CHECK(reader.call({{"op", "list"}}).at("records").as_array().size() == 1);
  json::object sync = reader.call({{"op", "sync"}, {"scope", "cluster"}});
  CHECK(sync.at("code") == "cluster_unavailable");
  swarm.expect_all_converged();

  swarm.stop(0);  // the holder leaves cleanly: the id is free
  bool joined = support::poll_until(support::PollClock::now() + 20s, [&] {
    return reader.call({{"op", "status"}}).at("cluster").at("joined") == true;
  });
  CHECK_MESSAGE(joined, impostor.log());
}

}  // namespace coordd::swarm

namespace coordd::swarm {

TEST_CASE(
    "a root unwatched on one host leaves every host's view, and is shared again once watched "
    "again") {
  Swarm swarm(2);
  write_record_atomic(swarm.node(0).ws->kind_dir("tasks"), "t-a", {{"task_id", "t-a"}});
  swarm.expect_all_converged();
  EventReader on_a = swarm.node(0).daemon->connect();
  std::string root = swarm.node(0).ws->repo().string();
  REQUIRE(on_a.call({{"op", "unwatch_root"}, {"path", root}}).at("type") == "unwatched");
  // Its records left the swarm with it, and status still answers.
  EventReader on_b = swarm.node(1).daemon->connect();
  bool gone =
      support::poll_until(support::PollClock::now() + 10s, [&] { return swarm.list(1).empty(); });
  CHECK(gone);
  CHECK(on_a.call({{"op", "status"}}).at("type") == "status");

  REQUIRE(on_a.call({{"op", "watch_root"}, {"path", root}}).at("type") == "watching");
  swarm.expect_all_converged();
  CHECK(swarm.list(1).size() == 1);
}

}  // namespace coordd::swarm

#if defined(__SANITIZE_THREAD__)
#define COORDD_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COORDD_UNDER_TSAN 1
#endif
#endif
#ifndef COORDD_UNDER_TSAN
#define COORDD_UNDER_TSAN 0
#endif

namespace coordd::swarm {
namespace {

// Whether a library whose file name contains `name` is mapped into `pid`.
bool maps_library(pid_t pid, std::string_view name) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}

std::size_t threads_of(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    (void)entry;
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE(
    "without --cluster coordd runs one thread, maps no libnats and no origin appears; with it, the "
    "bridge") {
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t", {{"task_id", "t"}});
  DaemonProcess alone(ws);
  std::size_t alone_threads = threads_of(alone.pid());
#if !COORDD_UNDER_TSAN  // ThreadSanitizer runs a thread of its own in coordd
  CHECK(alone_threads == 1);
#endif
  EventReader reader = alone.connect();
  json::object list = reader.call({{"op", "list"}});
  REQUIRE(list.at("records").as_array().size() == 1);
  CHECK_FALSE(list.at("records").as_array()[0].as_object().contains("origin"));
  CHECK_FALSE(reader.call({{"op", "status"}}).contains("cluster"));
  // Nor its libraries: libnats (and libssl, libcrypto) load only with --cluster.
  CHECK_FALSE(maps_library(alone.pid(), "libnats"));

  Swarm swarm(1);
  swarm.expect_all_converged();
  CHECK(threads_of(swarm.node(0).daemon->pid()) > alone_threads);
  CHECK(maps_library(swarm.node(0).daemon->pid(), "libnats"));
}

}  // namespace coordd::swarm

namespace coordd::swarm {

TEST_CASE(
    "a record too large for the servers' max_payload stays local, is counted, and holds up "
    "nothing") {
  Swarm swarm(2);
  swarm.expect_all_converged();
  // Under --max-record-bytes (1 MiB), over NATS's default max_payload once
  // the value's header line is added.
  std::string filler(1'048'530, 'x');
  write_record_atomic(swarm.node(0).ws->kind_dir("tasks"), "big",
                      {{"task_id", "big"}, {"filler", filler}});
  write_record_atomic(swarm.node(0).ws->kind_dir("tasks"), "small", {{"task_id", "small"}});
  EventReader on_a = swarm.node(0).daemon->connect();
  json::object cluster;
  bool counted = support::poll_until(support::PollClock::now() + 10s, [&] {
    cluster = on_a.call({{"op", "status"}}).at("cluster").as_object();
    return cluster.at("too_large") == 1 && cluster.at("backlog") == 0 &&
           cluster.at("in_flight") == 0;
  });
  REQUIRE_MESSAGE(counted, json::serialize(cluster));
  std::map<std::string, std::string> on_b = swarm.list(1);
  CHECK(on_b.contains("a/task/small"));
  CHECK_FALSE(on_b.contains("a/task/big"));
  CHECK(on_a.call({{"op", "list"}}).at("records").as_array().size() == 2);  // still served here
  CHECK(swarm.node(0).daemon->log().find("not sharing") != std::string::npos);
}

}  // namespace coordd::swarm

namespace coordd::swarm {

TEST_CASE(
    "a host whose coordd stops is stale to the others (its records stay), and not once back") {
  Swarm swarm(2);
  write_record_atomic(swarm.node(1).ws->kind_dir("tasks"), "t-b", {{"task_id", "t-b"}});
  swarm.expect_all_converged();
  auto b_on_a = [&] {
    EventReader reader = swarm.node(0).daemon->connect();
    json::object status = reader.call({{"op", "status"}});
    const json::value* b = status.at("cluster").at("origins").as_object().if_contains("b");
    return b ? b->as_object() : json::object{};
  };
  auto wait_stale = [&](bool want) {
    json::object seen;
    bool ok = support::poll_until(support::PollClock::now() + 10s, [&] {
      seen = b_on_a();
      return seen.contains("stale") && seen.at("stale") == want;
    });
    REQUIRE_MESSAGE(ok, "b on a: " << json::serialize(seen) << "\na's log:\n"
                                   << swarm.node(0).daemon->log());
    return seen;
  };
  json::object b = wait_stale(false);
  std::string first_epoch(b.at("epoch").as_string());
  swarm.stop(1);
  b = wait_stale(true);
  CHECK(b.at("records") == 1);  // its records stay: stale is not gone
  swarm.restart(1);
  b = wait_stale(false);
  CHECK(std::string(b.at("epoch").as_string()) != first_epoch);  // the run holding b now
}

}  // namespace coordd::swarm

namespace coordd::swarm {
namespace {

// `coordctl reserve` run against host i: its exit and what it printed.
struct Reserved {
  support::ExitStatus status;
  std::string out, err;
};
Reserved reserve_on(Swarm& swarm, int i, std::vector<std::string> args) {
  Node& node = swarm.node(i);
  std::vector<std::string> argv = {support::coordctl_binary(), "reserve", "--socket",
                                   node.ws->socket().string(), "--root",  node.ws->repo().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  support::ChildOptions options;
  options.stdout_to = support::Output::kCollect;
  options.stderr_to = support::Output::kCollect;
  support::ChildProcess process(argv, options);
  process.read_until([] { return false; }, 20s);  // to its end: the pipes close
  std::optional<support::ExitStatus> exit = process.wait(5s);
  REQUIRE_MESSAGE(exit, "coordctl reserve did not finish");
  return {*exit, process.stdout_text(), process.stderr_text()};
}

}  // namespace

TEST_CASE(
    "coordctl reserve warns of an address another host's agent holds, naming that host, and "
    "--exclusive refuses it there") {
  Swarm swarm(2);
  Reserved first = reserve_on(swarm, 0, {"src/billing.py::total", "--run-id", "agent-a"});
  INFO(first.err);
  REQUIRE(first.status.code == 0);
  std::string id = first.out.substr(0, first.out.find('\n'));
  swarm.settle(0);  // the swarm has a's reservation
  // And b has read it: a confirmed cluster sync (list retries until one is;
  // a single sync may time out while b is still catching up).
  std::map<std::string, std::string> on_b;
  bool seen = support::poll_until(support::PollClock::now() + 20s, [&] {
    on_b = swarm.list(1);
    return on_b.contains("a/reservation/" + id);
  });
  REQUIRE_MESSAGE(seen, "b never listed a/reservation/" << id);
  Reserved second = reserve_on(swarm, 1, {"src/billing.py::total", "--run-id", "agent-b"});
  INFO("second: " << second.out << " / " << second.err);
  CHECK(second.status.code == 0);  // Muse warns; it does not refuse
  CHECK(second.err.find("agent-a") != std::string::npos);
  CHECK(second.err.find(id) != std::string::npos);
  CHECK(second.err.find("host a") != std::string::npos);
  Reserved exclusive =
      reserve_on(swarm, 1, {"src/billing.py::total", "--run-id", "agent-b", "--exclusive"});
  CHECK(exclusive.status.code == 3);
  Reserved free = reserve_on(swarm, 1, {"src/other.py::f", "--run-id", "agent-b"});
  CHECK(free.status.code == 0);
  CHECK(free.err.empty());
}

}  // namespace coordd::swarm
