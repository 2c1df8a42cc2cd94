// NATS authorization as the README gives it ("Security."): one nats-server
// whose users host-a and host-b may each publish only under their own
// records prefix and hosts key, and real coordd using them. The permissions
// below are the README's block with its swarm and host names replaced: when
// one changes, so must the other. A coordd using host-b's user under
// --host-id a (a forger) must put nothing into the swarm and disturb nobody.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "tests/cluster/loopback_client.hpp"
#include "tests/integration/daemon_fixture.hpp"
#include "tests/support/nats_cluster.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::swarm {
using namespace coordd::integration;

namespace {

constexpr std::string_view kCluster = "authtest";
constexpr std::string_view kRepo = "example.org/auth/repo";

// {C} is the swarm, {H} the host id, {P} its password. Only a user that may
// create the buckets gets the STREAM.CREATE lines.
constexpr std::string_view kUserTemplate = R"conf(
  { user: host-{H}, password: "{P}", permissions: {
      publish: { allow: [ "$KV.coord_{C}_records.*.{H}.>",
        "$KV.coord_{C}_hosts.{H}", "coord.{C}.host.{H}.ping",
        "$JS.API.STREAM.INFO.KV_coord_{C}_records",
        "$JS.API.STREAM.INFO.KV_coord_{C}_hosts",
{CREATE}        "$JS.API.CONSUMER.CREATE.KV_coord_{C}_records",
        "$JS.API.CONSUMER.CREATE.KV_coord_{C}_hosts",
        "$JS.API.CONSUMER.INFO.KV_coord_{C}_records.*",
        "$JS.API.CONSUMER.DELETE.KV_coord_{C}_records.*",
        "$JS.API.DIRECT.GET.KV_coord_{C}_hosts.$KV.coord_{C}_hosts.{H}",
        "$JS.FC.KV_coord_{C}_records.>", "$JS.FC.KV_coord_{C}_hosts.>",
        "$KV.coord_{C}_agents.*", "$JS.API.STREAM.INFO.KV_coord_{C}_agents",
        "$JS.API.CONSUMER.CREATE.KV_coord_{C}_agents",
        "$JS.API.CONSUMER.INFO.KV_coord_{C}_agents.*",
        "$JS.API.STREAM.MSG.GET.KV_coord_{C}_agents", "$JS.FC.KV_coord_{C}_agents.>",
        "coord.{C}.msg.to.*.{H}", "coord.{C}.msg.all.{H}", "coord.{C}.msg.seen.{H}",
        "$JS.API.STREAM.INFO.COORD_{C}_MSG",
        "$JS.API.CONSUMER.DURABLE.CREATE.COORD_{C}_MSG.*",
        "$JS.API.CONSUMER.DELETE.COORD_{C}_MSG.*",
        "$JS.API.CONSUMER.MSG.NEXT.COORD_{C}_MSG.*", "$JS.ACK.COORD_{C}_MSG.>" ] }
      subscribe: { allow: [ "_INBOX.>", "coord.{C}.msg.>"{PING} ] }
      allow_responses: true } }
)conf";
constexpr std::string_view kCreateLines =
    R"conf(        "$JS.API.STREAM.CREATE.KV_coord_{C}_records",
        "$JS.API.STREAM.CREATE.KV_coord_{C}_hosts",
        "$JS.API.STREAM.CREATE.KV_coord_{C}_agents",
        "$JS.API.STREAM.CREATE.COORD_{C}_MSG",
)conf";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string password_of(std::string_view host) { return "pw-" + std::string(host) + "-7Qe2"; }

// `may_answer` false leaves out the subscription to the host's ping subject
// (a misconfigured host, which could not defend its host id).
std::string user_entry(std::string_view host, bool may_create, bool may_answer = true) {
  std::string entry(kUserTemplate);
  replace_all(entry, "{CREATE}", may_create ? kCreateLines : "");
  replace_all(entry, "{PING}", may_answer ? R"(, "coord.{C}.host.{H}.ping")" : "");
  replace_all(entry, "{C}", kCluster);
  replace_all(entry, "{H}", host);
  replace_all(entry, "{P}", password_of(host));
  return entry;
}

// host-a makes the buckets; host-b only finds them; host-c may not answer
// its pings.
std::string authorization_block() {
  return "authorization { users: [" + user_entry("a", true) + user_entry("b", false) +
         user_entry("c", false, false) + "] }\n";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One nats-server with the users above, and the coordd that use it.
class AuthSwarm {
 public:
  AuthSwarm() : dir_("coordd-auth") {
    support::NatsClusterOptions options;
    options.extra_config = authorization_block();
    nats_ = std::make_unique<support::NatsCluster>(dir_.path() / "nats", 1, options);
  }

  // A workspace of its own, holding one task `record` on disk.
  std::unique_ptr<Workspace> workspace(const std::string& label, const std::string& record) {
    support::WorkspaceOptions options;
    options.label = "coordd-auth-" + label;
    options.parent = dir_.path();
    auto ws = std::make_unique<Workspace>(options);
    write_record_atomic(ws->kind_dir("tasks"), record, {{"task_id", record}});
    return ws;
  }

  // coordd on `ws` as host `host_id`, logged in as NATS user host-<user>.
  std::unique_ptr<DaemonProcess> start(const Workspace& ws, std::string_view user,
                                       std::string_view host_id) {
    std::string url = "nats://host-" + std::string(user) + ":" + password_of(user) +
                      "@127.0.0.1:" + std::to_string(nats_->client_port(0));
    return std::make_unique<DaemonProcess>(
        ws, std::vector<std::string>{"--cluster", url, "--no-cluster-discovery", "--cluster-name",
                                     std::string(kCluster), "--host-id", std::string(host_id),
                                     "--repo-id", ws.repo().string() + "=" + std::string(kRepo),
                                     "--state-dir", "none"});
  }

  int client_port() const { return nats_->client_port(0); }

  // Waits until the server has logged `line`.
  void expect_server_logged(const std::string& line) {
    bool logged = support::poll_until(support::PollClock::now() + 10s, [&] {
      return read_file(nats_->log(0)).find(line) != std::string::npos;
    });
    CHECK_MESSAGE(logged, "nats-server never logged " << line << "; its log:\n"
                                                      << nats_->log_tail(0));
  }

 private:
  support::TempDir dir_;
  std::unique_ptr<support::NatsCluster> nats_;
};

json::object status_of(const DaemonProcess& daemon) {
  json::object reply = daemon.connect().call({{"op", "status"}});
  REQUIRE_MESSAGE(reply.at("type") == "status", json::serialize(reply));
  return reply;
}

json::object cluster_of(const DaemonProcess& daemon) {
  return status_of(daemon).at("cluster").as_object();
}

void wait_joined(const DaemonProcess& daemon) {
  json::object cluster;
  bool joined = support::poll_until(support::PollClock::now() + 10s, [&] {
    cluster = cluster_of(daemon);
    return cluster.at("joined") == true;
  });
  REQUIRE_MESSAGE(joined, json::serialize(cluster) << "\nits log:\n" << daemon.log());
}

// origin/kind/id of every record `daemon` lists after a confirmed cluster sync.
std::set<std::string> list_after_sync(const DaemonProcess& daemon) {
  EventReader reader = daemon.connect();
  json::object synced = reader.call({{"op", "sync"}, {"scope", "cluster"}, {"timeout_ms", 5000}});
  REQUIRE_MESSAGE(synced.at("type") == "synced", json::serialize(synced) << "\nits log:\n"
                                                                         << daemon.log());
  json::object reply = reader.call({{"op", "list"}});
  REQUIRE_MESSAGE(reply.at("type") == "list", json::serialize(reply));
  std::set<std::string> out;
  for (const json::value& record : reply.at("records").as_array()) {
    out.insert(std::string(record.at("origin").as_string()) + "/" +
               std::string(record.at("kind").as_string()) + "/" +
               std::string(record.at("id").as_string()));
  }
  return out;
}

// Waits until `daemon` has read its disk and the swarm stored all of it.
void settle(const DaemonProcess& daemon) {
  EventReader reader = daemon.connect();
  json::object synced = reader.call({{"op", "sync"}});
  REQUIRE_MESSAGE(synced.at("type") == "synced", json::serialize(synced));
  json::object cluster;
  bool published = support::poll_until(support::PollClock::now() + 10s, [&] {
    cluster = reader.call({{"op", "status"}}).at("cluster").as_object();
    return cluster.at("backlog") == 0 && cluster.at("in_flight") == 0;
  });
  REQUIRE_MESSAGE(published, json::serialize(cluster) << "\nits log:\n" << daemon.log());
}

// Writes task `id` on `writer`'s disk and waits until `reader` announces it
// with origin `origin`.
void expect_shared(const Workspace& writer, EventReader& reader, const std::string& id,
                   std::string_view origin) {
  write_record_atomic(writer.kind_dir("tasks"), id, {{"task_id", id}});
  std::vector<json::object> lines = reader.read_until(event_for("added", id), 10s);
  CHECK(lines.back().at("origin").as_string() == origin);
}

}  // namespace

TEST_CASE(
    "under per-host NATS authorization two hosts share their records, and a coordd with one "
    "host's user but the other's host id never joins, puts nothing into the swarm and disturbs "
    "nobody") {
  AuthSwarm swarm;
  auto ws_a = swarm.workspace("a", "t-a");
  auto ws_b = swarm.workspace("b", "t-b");
  auto a = swarm.start(*ws_a, "a", "a");
  // b may not create the buckets: a makes them first.
  wait_joined(*a);
  auto b = swarm.start(*ws_b, "b", "b");
  wait_joined(*b);
  EventReader on_a = a->connect();
  on_a.subscribe();
  EventReader on_b = b->connect();
  on_b.subscribe();
  expect_shared(*ws_a, on_b, "a-1", "a");
  expect_shared(*ws_b, on_a, "b-1", "b");
  std::set<std::string> shared{"a/task/t-a", "a/task/a-1", "b/task/t-b", "b/task/b-1"};
  // 2 MB at once: more than a watch is sent before it must answer flow control.
  const std::string filler(32 * 1024, 'x');
  for (int n = 0; n < 64; ++n) {
    std::string id = "bulk-" + std::to_string(n);
    write_record_atomic(ws_a->kind_dir("tasks"), id, {{"task_id", id}, {"filler", filler}});
    shared.insert("a/task/" + id);
  }
  settle(*a);
  CHECK(list_after_sync(*a) == shared);
  CHECK(list_after_sync(*b) == shared);
  std::string a_epoch(status_of(*a).at("epoch").as_string());
  CHECK(cluster_of(*b).at("origins").at("a").at("epoch").as_string() == a_epoch);

  // The forger: b's user, a's host id, a record of its own on disk.
  auto ws_forger = swarm.workspace("forger", "forged");
  auto forger = swarm.start(*ws_forger, "b", "a");
  // Its first step, claiming host id a, is refused: it never gets further.
  swarm.expect_server_logged("Publish Violation - User \"host-b\", Subject \"$KV.coord_" +
                             std::string(kCluster) + "_hosts.a\"");
  write_record_atomic(ws_forger->kind_dir("tasks"), "forged-later", {{"task_id", "forged-later"}});
  expect_shared(*ws_a, on_b, "a-2", "a");
  expect_shared(*ws_b, on_a, "b-2", "b");
  std::set<std::string> after = shared;
  after.insert({"a/task/a-2", "b/task/b-2"});
  CHECK(list_after_sync(*a) == after);
  CHECK(list_after_sync(*b) == after);
  // Host id a is still a's run.
  json::object on_b_status = cluster_of(*b);
  CHECK(on_b_status.at("origins").at("a").at("epoch").as_string() == a_epoch);
  CHECK(on_b_status.at("origins").at("a").at("stale") == false);

  json::object forged = cluster_of(*forger);
  MESSAGE("the forger's status.cluster: " << json::serialize(forged));
  CHECK(forged.at("connected") == true);
  CHECK(forged.at("joined") == false);
  CHECK(forged.at("repos").as_array().at(0).at("caught_up") == false);
  CHECK(forged.at("published") == 0);
  CHECK(forged.at("publish_failures") == 0);
  CHECK(forged.at("remote_applied") == 0);
  CHECK(forged.at("origins").as_object().empty());
  // Its clients hear at once that the swarm cannot confirm a sync (not a
  // sync_timeout after waiting on claims the servers will never allow).
  json::object forged_sync =
      forger->connect().call({{"op", "sync"}, {"scope", "cluster"}, {"timeout_ms", 5000}});
  CHECK_MESSAGE(forged_sync.at("code") == "cluster_unavailable", json::serialize(forged_sync));
  bool said = support::poll_until(support::PollClock::now() + 10s, [&] {
    return forger->log().find("swarm: Not Permitted") != std::string::npos;
  });
  CHECK_MESSAGE(said, forger->log());
  for (const DaemonProcess* host : {a.get(), b.get()}) {
    json::object cluster = cluster_of(*host);
    CHECK(cluster.at("joined") == true);
    CHECK(cluster.at("publish_failures") == 0);
    CHECK(cluster.at("remote_rejected") == 0);
  }
  // SIGKILL: a SIGTERM would wait for the claim in progress, up to three
  // refused requests of 2 s each.
  forger->kill();
}

TEST_CASE(
    "under per-host NATS authorization a second coordd with a host's own user is refused that "
    "host's id while its holder runs: the holder may answer its pings") {
  AuthSwarm swarm;
  auto ws_a = swarm.workspace("a", "t-a");
  auto ws_again = swarm.workspace("again", "t-again");
  auto a = swarm.start(*ws_a, "a", "a");
  wait_joined(*a);
  std::string a_epoch(status_of(*a).at("epoch").as_string());

  auto again = swarm.start(*ws_again, "a", "a");
  std::string held = "host id a is held by another live coordd (run " + a_epoch + ")";
  json::object cluster;
  // Until it has connected, its status may give another error ("connecting").
  bool refused = support::poll_until(support::PollClock::now() + 10s, [&] {
    cluster = cluster_of(*again);
    const json::value* error = cluster.if_contains("error");
    return error != nullptr && error->is_string() && error->get_string() == held;
  });
  REQUIRE_MESSAGE(refused, json::serialize(cluster) << "\nits log:\n" << again->log());
  CHECK(cluster.at("joined") == false);
  json::object sync =
      again->connect().call({{"op", "sync"}, {"scope", "cluster"}, {"timeout_ms", 5000}});
  CHECK(sync.at("type") == "error");
  CHECK(sync.at("code") == "cluster_unavailable");
  CHECK(list_after_sync(*a) == std::set<std::string>{"a/task/t-a"});
  CHECK(cluster_of(*a).at("joined") == true);
}

TEST_CASE(
    "a coordd whose NATS user may not answer its host's pings gives the host id back and stays "
    "out of the swarm, saying why, rather than hold an id any claimant could take") {
  AuthSwarm swarm;
  auto ws_a = swarm.workspace("a", "t-a");
  auto ws_c = swarm.workspace("c", "t-c");
  auto a = swarm.start(*ws_a, "a", "a");
  wait_joined(*a);
  auto c = swarm.start(*ws_c, "c", "c");
  json::object cluster;
  bool said = support::poll_until(support::PollClock::now() + 10s, [&] {
    cluster = cluster_of(*c);
    const json::value* error = cluster.if_contains("error");
    return error != nullptr && error->is_string() &&
           std::string_view(error->get_string()).find("gets no answer to its own ping") !=
               std::string_view::npos;
  });
  REQUIRE_MESSAGE(said, json::serialize(cluster) << "\nits log:\n" << c->log());
  CHECK(cluster.at("joined") == false);
  CHECK(std::string_view(cluster.at("error").as_string()).find("coord.authtest.host.c.ping") !=
        std::string_view::npos);
  json::object sync =
      c->connect().call({{"op", "sync"}, {"scope", "cluster"}, {"timeout_ms", 5000}});
  CHECK(sync.at("code") == "cluster_unavailable");
  // It gave the id back: a's view has no host c, and nothing of c's arrived.
  CHECK(list_after_sync(*a) == std::set<std::string>{"a/task/t-a"});
  CHECK_FALSE(cluster_of(*a).at("origins").as_object().contains("c"));
  c->kill();
}

namespace {

LinePattern content_is(std::string content) {
  return {"a message with content " + content, [content](const json::object& line) {
            if (line.at("type") != "message") return false;
            const json::value* c = line.at("message").as_object().if_contains("content");
            return c && c->is_string() && c->as_string() == content;
          }};
}

void wait_messages_ready(const DaemonProcess& daemon) {
  json::object cluster;
  bool ready = support::poll_until(support::PollClock::now() + 15s, [&] {
    cluster = cluster_of(daemon);
    const json::value* messages = cluster.if_contains("messages");
    return messages && messages->as_object().at("ready") == true;
  });
  REQUIRE_MESSAGE(ready, json::serialize(cluster) << "\nits log:\n" << daemon.log());
}

json::object context_message(std::string content) {
  return {{"kind", "additional_context"}, {"content", std::move(content)}};
}

}  // namespace

TEST_CASE(
    "under per-host NATS authorization agents on two hosts exchange messages, and a host's user "
    "may not publish a message under another host's name") {
  AuthSwarm swarm;
  auto ws_a = swarm.workspace("a", "task-a");
  auto ws_b = swarm.workspace("b", "task-b");
  auto a = swarm.start(*ws_a, "a", "a");
  wait_joined(*a);
  auto b = swarm.start(*ws_b, "b", "b");
  wait_joined(*b);
  wait_messages_ready(*a);
  wait_messages_ready(*b);

  EventReader orch = a->connect();
  REQUIRE(orch.call({{"op", "hello"}, {"agent", "orch"}}).at("type") == "hello");
  EventReader worker = b->connect();
  REQUIRE(worker.call({{"op", "hello"}, {"agent", "w1"}}).at("type") == "hello");

  json::object sent =
      orch.call({{"op", "send"}, {"to", "w1"}, {"message", context_message("to-w1")}});
  REQUIRE_MESSAGE(sent.at("type") == "sent", json::serialize(sent) << "\n" << a->log());
  json::object got = worker.read_until(content_is("to-w1"), 10s).back();
  CHECK(got.at("from") == "orch");
  CHECK(got.at("from_host") == "a");
  sent = worker.call({{"op", "send"}, {"to", "orch"}, {"message", context_message("to-orch")}});
  REQUIRE_MESSAGE(sent.at("type") == "sent", json::serialize(sent) << "\n" << b->log());
  CHECK(orch.read_until(content_is("to-orch"), 10s).back().at("from_host") == "b");

  // host-b's user, publishing by hand a message as if host a had sent it.
  cluster_suite::LoopbackClient raw(swarm.client_port());
  REQUIRE(raw.read_until("INFO", 5s) == cluster_suite::LoopbackClient::Read::kFound);
  std::string body = R"({"id":"a:forged:1","from":"orch","from_host":"a","to":"w1",)"
                     R"("timestamp":"2026-12-02T00:00:00.000000Z",)"
                     R"("message":{"kind":"additional_context","content":"forged"}})";
  std::string headers = "NATS/1.0\r\nNats-Msg-Id: a:forged:1\r\n\r\n";
  raw.send(R"(CONNECT {"verbose":false,"pedantic":false,"headers":true,"user":"host-b","pass":")" +
           password_of("b") + "\"}\r\n");
  raw.send("HPUB coord." + std::string(kCluster) + ".msg.to.w1.a " +
           std::to_string(headers.size()) + " " + std::to_string(headers.size() + body.size()) +
           "\r\n" + headers + body + "\r\nPING\r\n");
  CHECK(raw.read_until("PONG", 5s) == cluster_suite::LoopbackClient::Read::kFound);
  swarm.expect_server_logged("Publish Violation - User \"host-b\", Subject \"coord." +
                             std::string(kCluster) + ".msg.to.w1.a\"");

  // What w1 gets next is the genuine message sent after it, not the forgery.
  sent = orch.call({{"op", "send"}, {"to", "w1"}, {"message", context_message("after")}});
  REQUIRE(sent.at("type") == "sent");
  for (const json::object& line : worker.read_until(content_is("after"), 10s)) {
    CHECK_MESSAGE(json::serialize(line).find("forged") == std::string::npos, json::serialize(line));
  }
}

}  // namespace coordd::swarm
