// The swarm under faults: a stream leader killed mid-traffic, the NATS
// quorum lost, a churn of 10,000 changes, forged and malformed values put
// into the bucket by a plain nats.c client, a coordd killed with SIGKILL,
// and one blackholed. Each scenario ends with every node's list equal to
// the union of every node's disk after sync {"scope":"cluster"}.
#include <doctest/doctest.h>
#include <nats/nats.h>

#include <csignal>
#include <random>

#include "proto/cluster_names.hpp"
#include "proto/cluster_value.hpp"
#include "proto/timestamp.hpp"
#include "tests/cluster/swarm_fixture.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::swarm {
namespace {

const std::string kRecordsStream = "KV_coord_swarmtest_records";
const std::string kRecordsBucket = "coord_swarmtest_records";

json::object cluster_status(Node& node) {
  EventReader reader = node.daemon->connect();
  json::object reply = reader.call({{"op", "status"}});
  REQUIRE_MESSAGE(reply.at("type") == "status", json::serialize(reply));
  return reply.at("cluster").as_object();
}

std::uint64_t remote_rejected(Node& node) {
  return cluster_status(node).at("remote_rejected").to_number<std::uint64_t>();
}

// Whether node's list (no cluster sync: what it serves now) holds origin/task/id.
bool lists_task(Node& node, std::string_view origin, std::string_view id) {
  EventReader reader = node.daemon->connect();
  json::object reply = reader.call({{"op", "list"}, {"kinds", json::array{"task"}}});
  REQUIRE_MESSAGE(reply.at("type") == "list", json::serialize(reply));
  for (const json::value& record : reply.at("records").as_array()) {
    if (record.at("origin").as_string() == origin && record.at("id").as_string() == id) {
      return true;
    }
  }
  return false;
}

// A plain nats.c connection to one NATS server and the swarm's records
// bucket: what a misbehaving or foreign client could put there.
class RawBucket {
 public:
  explicit RawBucket(const std::string& url) {
    natsStatus s = natsConnection_ConnectTo(&nc_, url.c_str());
    if (s == NATS_OK) s = natsConnection_JetStream(&js_, nc_, nullptr);
    if (s == NATS_OK) s = js_KeyValue(&kv_, js_, kRecordsBucket.c_str());
    REQUIRE_MESSAGE(s == NATS_OK, "nats.c to " << url << ": " << natsStatus_GetText(s));
  }
  ~RawBucket() {
    if (kv_) kvStore_Destroy(kv_);
    if (js_) jsCtx_Destroy(js_);
    if (nc_) natsConnection_Destroy(nc_);
  }
  RawBucket(const RawBucket&) = delete;
  RawBucket& operator=(const RawBucket&) = delete;

  natsStatus put(const std::string& key, std::string_view value) {
    std::uint64_t revision = 0;
    return kvStore_Put(&revision, kv_, key.c_str(), value.data(), int(value.size()));
  }
  natsStatus remove(const std::string& key) { return kvStore_Delete(kv_, key.c_str()); }
  // The largest message the server takes (its max_payload).
  std::int64_t max_payload() const { return natsConnection_GetMaxPayload(nc_); }
  // The bucket's own limit on a value (its stream's max_msg_size); -1: none.
  std::int64_t max_value_size() {
    jsStreamInfo* info = nullptr;
    natsStatus s = js_GetStreamInfo(&info, js_, kRecordsStream.c_str(), nullptr, nullptr);
    REQUIRE_MESSAGE(s == NATS_OK, "stream info: " << natsStatus_GetText(s));
    std::int64_t size = info->Config->MaxMsgSize;
    jsStreamInfo_Destroy(info);
    return size;
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  kvStore* kv_ = nullptr;
};

std::string value_from(std::string_view origin, std::string_view record_json) {
  auto now =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  return encode_record_value({std::string(origin), "test-epoch", 1, format_timestamp(now)},
                             record_json);
}

}  // namespace

TEST_CASE("the records bucket's stream leader is killed mid-traffic: nothing is lost") {
  Swarm swarm;
  swarm.expect_all_converged();  // the bucket exists and every node has read it
  std::string leader = swarm.nats().stream_leader(kRecordsStream);
  REQUIRE_MESSAGE(!leader.empty(), "no leader known for " << kRecordsStream);
  int victim = swarm.nats().node_index(leader);
  REQUIRE(victim >= 0);

  // One round: a new record on every node, a rewrite of an older one, and
  // every third round a removal.
  int round = 0;
  auto write_round = [&] {
    for (int i = 0; i < swarm.size(); ++i) {
      fs::path tasks = swarm.node(i).ws->kind_dir("tasks");
      std::string host = swarm.node(i).host;
      write_record_atomic(tasks, "t-" + host + "-" + std::to_string(round),
                          {{"task_id", "t-" + host + "-" + std::to_string(round)}, {"v", 1}});
      if (round >= 2) {
        std::string older = "t-" + host + "-" + std::to_string(round - 2);
        if (round % 3 == 0) {
          remove_record(tasks, older);
        } else {
          write_record_atomic(tasks, older, {{"task_id", older}, {"v", 2}});
        }
      }
    }
    ++round;
  };
  for (int n = 0; n < 50; ++n) write_round();
  swarm.nats().kill(victim);
  // Traffic goes on through the election, until another node leads.
  std::string next;
  bool elected = support::poll_until(support::PollClock::now() + 30s, [&] {
    write_round();
    next = swarm.nats().stream_leader(kRecordsStream);
    return !next.empty() && next != leader;
  });
  REQUIRE_MESSAGE(elected,
                  "no new leader for " << kRecordsStream << " after " << leader << " was killed");
  for (int n = 0; n < 50; ++n) write_round();
  MESSAGE("killed leader " << leader << ", " << next << " leads; " << round << " rounds written");
  swarm.expect_all_converged();

  swarm.nats().start(victim);
  for (int n = 0; n < 20; ++n) write_round();
  swarm.expect_all_converged();
}

TEST_CASE("quorum lost and then restored: local service goes on, and the swarm converges after") {
  Swarm swarm;
  swarm.expect_all_converged();
  // Servers 1 and 2 go: node a (servers 0, 1) and c (2, 0) keep a link to
  // server 0, which cannot reach a quorum; b (1, 2) has no server at all.
  swarm.nats().kill(1);
  swarm.nats().kill(2);

  EventReader on_a = swarm.node(0).daemon->connect();
  on_a.subscribe();
  write_record_atomic(swarm.node(0).ws->kind_dir("tasks"), "during-a", {{"task_id", "during-a"}});
  on_a.read_until(event_for("added", "during-a"), 5s);
  CHECK(lists_task(swarm.node(0), "a", "during-a"));
  write_record_atomic(swarm.node(1).ws->kind_dir("tasks"), "during-b", {{"task_id", "during-b"}});
  write_record_atomic(swarm.node(2).ws->kind_dir("tasks"), "during-c", {{"task_id", "during-c"}});
  CHECK(lists_task(swarm.node(1), "b", "during-b"));

  // a is still linked to a NATS server, but the swarm cannot answer it.
  json::object on_server = swarm.sync(0, 3000);
  MESSAGE("sync on a without quorum: " << json::serialize(on_server));
  REQUIRE(on_server.at("type") == "error");
  CHECK(on_server.at("code") == "sync_timeout");
  CHECK(std::string_view(on_server.at("message").as_string()).find("3000 ms") !=
        std::string_view::npos);
  // b has lost its link: refused at once, and said so.
  json::object unlinked;
  bool refused = support::poll_until(support::PollClock::now() + 10s, [&] {
    unlinked = swarm.sync(1, 2000);
    return unlinked.at("type") == "error" && unlinked.at("code") == "cluster_unavailable";
  });
  MESSAGE("sync on b with no server: " << json::serialize(unlinked));
  REQUIRE_MESSAGE(refused, json::serialize(unlinked));
  CHECK(std::string_view(unlinked.at("message").as_string()).find("not connected to the swarm") !=
        std::string_view::npos);
  // Still serving: a live change on a reaches its subscriber.
  remove_record(swarm.node(0).ws->kind_dir("tasks"), "during-a");
  on_a.read_until(event_for("removed", "during-a"), 5s);
  write_record_atomic(swarm.node(0).ws->kind_dir("tasks"), "during-a2", {{"task_id", "during-a2"}});
  on_a.read_until(event_for("added", "during-a2"), 5s);

  swarm.nats().start(1);
  swarm.nats().start(2);
  swarm.expect_all_converged();
}

TEST_CASE("a churn of 10,000 changes spread over three nodes converges") {
  Swarm swarm;
  swarm.expect_all_converged();
  constexpr int kChanges = 10'000;
  constexpr int kIdsPerNode = 300;
  std::mt19937 random(20260101);
  std::vector<std::vector<char>> present(std::size_t(swarm.size()),
                                         std::vector<char>(kIdsPerNode, 0));
  int writes = 0, rewrites = 0, removals = 0;
  auto started = std::chrono::steady_clock::now();
  for (int change = 0; change < kChanges; ++change) {
    int i = change % swarm.size();
    int k = int(random() % kIdsPerNode);
    fs::path tasks = swarm.node(i).ws->kind_dir("tasks");
    std::string id = "churn-" + std::to_string(k);
    char& slot = present[std::size_t(i)][std::size_t(k)];
    if (slot && random() % 10 < 3) {
      remove_record(tasks, id);
      slot = 0;
      ++removals;
    } else {
      (slot ? rewrites : writes) += 1;
      write_record_atomic(tasks, id, {{"task_id", id}, {"change", change}});
      slot = 1;
    }
  }
  auto last_write = std::chrono::steady_clock::now();
  swarm.expect_all_converged();
  auto converged = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  double seconds = double(ms(converged - started)) / 1000.0;
  MESSAGE(kChanges << " changes (" << writes << " writes, " << rewrites << " rewrites, " << removals
                   << " removals) written in " << ms(last_write - started) << " ms; converged "
                   << ms(converged - last_write) << " ms after the last write; "
                   << int(kChanges / seconds) << " changes/s end to end");
  std::size_t records = swarm.disks().size();
  CHECK(records > std::size_t(kIdsPerNode));  // the churn left records on every node
}

TEST_CASE(
    "a value written under another host's prefix, or malformed, is refused and counted, never "
    "applied") {
  Swarm swarm;
  write_record_atomic(swarm.node(1).ws->kind_dir("tasks"), "b-own", {{"task_id", "b-own"}});
  swarm.expect_all_converged();
  Node& a = swarm.node(0);
  std::uint64_t rejected_before = remote_rejected(a);
  RawBucket bucket(swarm.nats().url(0));
  const std::string good_record = R"({"task_id":"x"})";
  int refused = 0;
  auto put = [&](const std::string& key, std::string_view value) {
    natsStatus s = bucket.put(key, value);
    REQUIRE_MESSAGE(s == NATS_OK, "put " << key << ": " << natsStatus_GetText(s));
    ++refused;
  };
  // (a) under b's prefix, from c.
  put(record_key(kRepoId, "b", Kind::kTask, "forged"), value_from("c", good_record));
  // (b) keys that do not decode: three tokens, five tokens, no such kind, bad escape.
  std::string repo = encode_name_part(kRepoId);
  put(repo + ".z.tasks", value_from("z", good_record));
  put(repo + ".z.tasks.one.two", value_from("z", good_record));
  put(repo + ".z.nokind.three", value_from("z", good_record));
  put(repo + ".z.tasks.=zz", value_from("z", good_record));
  // A raw space never gets that far: nats.c refuses the key itself.
  CHECK(bucket.put(repo + ".z.tasks.with space", value_from("z", good_record)) == NATS_INVALID_ARG);
  // (c) not header\nrecord.
  put(record_key(kRepoId, "z", Kind::kTask, "no-header"), good_record);
  put(record_key(kRepoId, "z", Kind::kTask, "bad-header"), "{\"origin\":\"z\"}\n" + good_record);
  // (d) a record that is not a JSON object.
  put(record_key(kRepoId, "z", Kind::kTask, "array"), value_from("z", "[1,2,3]"));
  put(record_key(kRepoId, "z", Kind::kTask, "not-json"), value_from("z", "{task_id"));
  // (e) oversize: more than a record (1 MiB) and its header room (1 KiB).
  std::string big = "{\"task_id\":\"big\",\"pad\":\"" + std::string((1 << 20) + 2048, 'x') + "\"}";
  std::string oversize = value_from("z", big);
  std::int64_t max_payload = bucket.max_payload();
  std::int64_t max_value = bucket.max_value_size();
  MESSAGE("server max_payload " << max_payload << ", bucket max value size " << max_value
                                << ", oversize value " << oversize.size() << " bytes");
  if (max_payload >= std::int64_t(oversize.size()) &&
      (max_value < 0 || max_value >= std::int64_t(oversize.size()))) {
    put(record_key(kRepoId, "z", Kind::kTask, "big"), oversize);
  } else {
    // NATS itself refuses it: coordd's own size check cannot be reached this way.
    CHECK(bucket.put(record_key(kRepoId, "z", Kind::kTask, "big"), oversize) != NATS_OK);
    MESSAGE("the oversize value (" << oversize.size()
                                   << " bytes) is refused by NATS before coordd sees it");
  }
  // Last, in stream order: a well-formed value from a host that has no
  // coordd. Once a has applied it, it has seen every value above.
  put(record_key(kRepoId, "z", Kind::kTask, "from-z"), value_from("z", R"({"task_id":"from-z"})"));
  --refused;
  bool applied = support::poll_until(support::PollClock::now() + 10s,
                                     [&] { return lists_task(a, "z", "from-z"); });
  REQUIRE_MESSAGE(applied, "the well-formed value from z was not applied; a's log:\n"
                               << a.daemon->log());
  CHECK(remote_rejected(a) == rejected_before + std::uint64_t(refused));
  EventReader reader = a.daemon->connect();
  json::object listed = reader.call({{"op", "list"}});
  REQUIRE(listed.at("type") == "list");
  // Nothing but the well-formed value came in: no other record of z, none
  // forged, nothing of c at all (c wrote nothing).
  for (const json::value& record : listed.at("records").as_array()) {
    if (record.at("origin") == "z")
      CHECK_MESSAGE(record.at("id") == "from-z", json::serialize(record));
    CHECK_MESSAGE(record.at("origin") != "c", json::serialize(record));
    CHECK_MESSAGE(record.at("id") != "forged", json::serialize(record));
  }
  CHECK(lists_task(a, "b", "b-own"));
  CHECK_FALSE(lists_task(a, "b", "forged"));
  CHECK_FALSE(lists_task(a, "c", "forged"));
  // Still serving, and the rest of the swarm too.
  CHECK(reader.call({{"op", "ping"}}).at("type") == "pong");
  // z has no disk: take its value back before the disks are compared.
  REQUIRE(bucket.remove(record_key(kRepoId, "z", Kind::kTask, "from-z")) == NATS_OK);
  bool gone = support::poll_until(support::PollClock::now() + 10s,
                                  [&] { return !lists_task(a, "z", "from-z"); });
  REQUIRE(gone);
  write_record_atomic(swarm.node(2).ws->kind_dir("tasks"), "after", {{"task_id", "after"}});
  swarm.expect_all_converged();
  CHECK(remote_rejected(a) == rejected_before + std::uint64_t(refused));
}

TEST_CASE(
    "a coordd killed with SIGKILL and restarted converges, and its peers never lose its records "
    "meanwhile") {
  Swarm swarm;
  fs::path b_tasks = swarm.node(1).ws->kind_dir("tasks");
  for (std::string id : {"keep", "change", "delete"}) {
    write_record_atomic(b_tasks, id, {{"task_id", id}, {"v", 1}});
  }
  swarm.expect_all_converged();

  CHECK(swarm.node(1).daemon->kill() == 128 + SIGKILL);
  write_record_atomic(swarm.node(0).ws->kind_dir("tasks"), "from-a", {{"task_id", "from-a"}});
  write_record_atomic(swarm.node(2).ws->kind_dir("tasks"), "from-c", {{"task_id", "from-c"}});
  write_record_atomic(b_tasks, "change", {{"task_id", "change"}, {"v", 2}});
  remove_record(b_tasks, "delete");
  write_record_atomic(b_tasks, "new", {{"task_id", "new"}, {"v", 1}});
  // Its peers still serve what b had published, after a cluster sync too.
  for (int i : {0, 2}) {
    std::map<std::string, std::string> have = swarm.list(i);
    for (std::string id : {"keep", "change", "delete"}) {
      CHECK_MESSAGE(have.contains("b/task/" + id), swarm.node(i).host << " lost b's " << id);
    }
    CHECK(have["b/task/change"] == R"({"task_id":"change","v":1})");
    CHECK_FALSE(have.contains("b/task/new"));
  }
  swarm.restart(1);
  swarm.expect_all_converged();
}

TEST_CASE("one coordd blackholed (not cut) then healed converges") {
  Swarm swarm;
  swarm.expect_all_converged();
  Node& c = swarm.node(2);
  for (auto& proxy : c.proxies) proxy->blackhole();
  EventReader on_c = c.daemon->connect();
  on_c.subscribe();
  write_record_atomic(c.ws->kind_dir("tasks"), "while-dark", {{"task_id", "while-dark"}});
  on_c.read_until(event_for("added", "while-dark"), 5s);
  write_record_atomic(swarm.node(0).ws->kind_dir("tasks"), "from-a", {{"task_id", "from-a"}});
  write_record_atomic(swarm.node(1).ws->kind_dir("tasks"), "from-b", {{"task_id", "from-b"}});
  // Nothing resets the links: c finds out by missed pings (1 s apart, 2 out).
  json::object status;
  bool noticed = support::poll_until(support::PollClock::now() + 10s, [&] {
    status = cluster_status(c);
    return status.at("connected") == false;
  });
  REQUIRE_MESSAGE(noticed, "c still thinks it is connected: " << json::serialize(status));
  json::object refused = swarm.sync(2, 2000);
  CHECK(refused.at("type") == "error");
  CHECK(refused.at("code") == "cluster_unavailable");
  write_record_atomic(c.ws->kind_dir("tasks"), "while-dark-2", {{"task_id", "while-dark-2"}});
  remove_record(c.ws->kind_dir("tasks"), "while-dark");
  on_c.read_until(event_for("removed", "while-dark"), 5s);
  // The others never saw c's changes.
  CHECK_FALSE(lists_task(swarm.node(0), "c", "while-dark-2"));

  c.heal();
  swarm.expect_all_converged();
}

}  // namespace coordd::swarm
