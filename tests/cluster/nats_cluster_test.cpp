// NatsCluster on itself: free ports, a meta leader, a node killed and brought
// back, a stream's leader read from the monitoring port.
#include "tests/support/nats_cluster.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <set>
#include <stdexcept>
#include <string>

#include "tests/cluster/loopback_client.hpp"
#include "tests/support/poll_until.hpp"
#include "tests/support/workspace.hpp"

namespace coordd::cluster_suite {
namespace {

using namespace std::chrono_literals;
using support::http_get;
using support::NatsCluster;
using support::poll_until;
using support::TempDir;
using Read = LoopbackClient::Read;

// How many routes node i has to other nodes, from its /routez; -1 when unknown.
std::int64_t route_count(NatsCluster& cluster, int i) {
  support::HttpReply reply = http_get(cluster.monitor_port(i), "/routez");
  boost::system::error_code error;
  boost::json::value routez = boost::json::parse(reply.body, error);
  const boost::json::value* count =
      !error && routez.is_object() ? routez.as_object().if_contains("num_routes") : nullptr;
  return count != nullptr && count->is_int64() ? count->get_int64() : -1;
}

// Creates the stream `name` with three replicas over the NATS text protocol,
// through node 0; true once the server says it did.
bool create_replicated_stream(NatsCluster& cluster, const std::string& name) {
  LoopbackClient client(cluster.client_port(0));
  if (client.read_until("INFO", 5s) != Read::kFound) return false;
  const std::string config = R"({"name":")" + name + R"(","subjects":[")" + name +
                             R"(.>"],"num_replicas":3,"storage":"memory"})";
  client.send("CONNECT {\"verbose\":false}\r\nSUB _INBOX.create 1\r\nPUB $JS.API.STREAM.CREATE." +
              name + " _INBOX.create " + std::to_string(config.size()) + "\r\n" + config + "\r\n");
  return client.read_until("\"did_create\":true", 10s) == Read::kFound;
}

TEST_CASE(
    "a three-node JetStream cluster comes up on free loopback ports and elects a meta leader") {
  TempDir dir("coordd-cluster");
  NatsCluster cluster(dir.path());

  std::set<int> ports;
  std::string expected_urls;
  for (int i = 0; i < 3; ++i) {
    ports.insert({cluster.client_port(i), cluster.monitor_port(i), cluster.cluster_port(i)});
    CHECK(http_get(cluster.monitor_port(i), "/healthz").status == 200);
    expected_urls += (i == 0 ? "" : ",") + cluster.url(i);
  }
  CHECK(ports.size() == 9);
  CHECK(cluster.urls() == expected_urls);
  const std::string leader = cluster.meta_leader(0);
  CHECK(cluster.node_index(leader) >= 0);
  for (int i = 1; i < 3; ++i) CHECK(cluster.meta_leader(i) == leader);
}

TEST_CASE("a killed node comes back on the same ports and rejoins the cluster") {
  TempDir dir("coordd-cluster");
  NatsCluster cluster(dir.path());
  const int victim = cluster.node_index(cluster.meta_leader(0));  // the hardest one to lose
  REQUIRE(victim >= 0);
  const int client_port = cluster.client_port(victim);
  const int monitor_port = cluster.monitor_port(victim);

  cluster.kill(victim);
  CHECK_FALSE(cluster.running(victim));
  CHECK(http_get(monitor_port, "/healthz").status == 0);

  cluster.start(victim);
  CHECK(cluster.running(victim));
  CHECK(http_get(monitor_port, "/healthz").status == 200);
  CHECK(LoopbackClient(client_port).read_until("INFO", 5s) == Read::kFound);
  CHECK_FALSE(cluster.meta_leader(victim).empty());
  CHECK(poll_until(10s, [&] { return route_count(cluster, victim) == 2; }));
}

TEST_CASE("the leader of a stream is found through the monitoring port") {
  TempDir dir("coordd-cluster");
  NatsCluster cluster(dir.path());
  CHECK(cluster.stream_leader("TEST").empty());

  REQUIRE(create_replicated_stream(cluster, "TEST"));

  std::string leader;
  CHECK(poll_until(10s, [&] { return !(leader = cluster.stream_leader("TEST")).empty(); }));
  CHECK(cluster.node_index(leader) >= 0);
  CHECK(cluster.stream_leader("KV_absent").empty());
}

TEST_CASE("a node that does not come up is reported with the tail of its log") {
  TempDir dir("coordd-cluster");
  support::NatsClusterOptions options;
  options.server = "cat";  // `cat -c n1.conf` complains of the -c and exits
  options.ready_within = 5s;

  std::string report;
  try {
    NatsCluster cluster(dir.path(), 1, options);
  } catch (const std::runtime_error& error) {
    report = error.what();
  }
  CHECK(report.find("n1") != std::string::npos);
  CHECK(report.find("exited") != std::string::npos);
  CHECK(report.find("/cat: ") != std::string::npos);  // its complaint, from the log
}

}  // namespace
}  // namespace coordd::cluster_suite
