// The swarm fixture: a real 3-node NATS JetStream cluster on loopback and
// real coordd instances, each with its own workspace (root, socket), host
// id and TCP proxy in front of the NATS server it uses, all sharing one repo
// id. Convergence is checked the way users rely on: after sync
// {"scope":"cluster"} on a node, its list equals the union of every node's
// disk. doctest's main thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/support/nats_cluster.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace coordd::swarm {

using namespace coordd::integration;

inline constexpr std::string_view kRepoId = "example.org/swarm/repo";

// One coordd of the swarm: its files, its two proxies (to NATS server i,
// then to server i+1, which it fails over to) and the process.
struct Node {
  std::string host;
  std::unique_ptr<Workspace> ws;
  std::vector<std::unique_ptr<support::TcpProxy>> proxies;
  std::unique_ptr<DaemonProcess> daemon;

  // Cuts it off from the swarm (both links), or heals it.
  void cut() {
    for (auto& proxy : proxies) proxy->cut();
  }
  void heal() {
    for (auto& proxy : proxies) proxy->pass();
  }
};

class Swarm {
 public:
  // Starts the NATS cluster and `hosts` coordd instances (a, b, c, ...),
  // node i talking to NATS server i % 3 (else (i + 1) % 3) through its
  // proxies, with server discovery off so that no link bypasses them.
  explicit Swarm(int hosts = 3, std::vector<std::string> extra_flags = {});

  support::NatsCluster& nats() { return *nats_; }
  Node& node(int i) { return nodes_.at(std::size_t(i)); }
  int size() const { return int(nodes_.size()); }
  // Starts node i's coordd again (after terminate() or kill()).
  void restart(int i);
  // Restarts node i with these flags added, from now on (e.g. --mirror ROOT).
  void restart(int i, std::vector<std::string> node_flags);
  void stop(int i) { node(i).daemon.reset(); }

  // sync {"scope":"cluster"} on node i; the reply.
  json::object sync(int i, std::uint64_t timeout_ms = 10'000);
  // Node i's list, as (origin, kind, id) -> data text, after a cluster sync.
  std::map<std::string, std::string> list(int i);
  // Every node's disk (running or not), as the same map; mirror copies
  // (files carrying the coordd_mirror_of marker) are not a node's records.
  std::map<std::string, std::string> disks();
  // Waits until node i has read its disk and the swarm stored all of it
  // (status.cluster: connected, caught up, backlog and in_flight 0).
  void settle(int i, std::chrono::milliseconds within = 20s);
  // Settles every running node, then checks that node i's list after sync
  // {"scope":"cluster"} equals the union of every node's disk.
  void expect_converged(int i);
  void expect_all_converged();

 private:
  std::vector<std::string> flags_for(int i) const;

  support::TempDir dir_;
  std::unique_ptr<support::NatsCluster> nats_;
  std::vector<Node> nodes_;
  std::vector<std::string> extra_flags_;
  std::map<int, std::vector<std::string>> node_flags_;
};

}  // namespace coordd::swarm
