// Swarm: coordd across hosts on a real 3-node NATS JetStream cluster on
// loopback (tests/support's NatsCluster), each coordd with its own root and
// host id ("a", "b", ...), one repo id, host i talking to NATS server i only,
// messages in memory (--state-dir none). Shared by the swarm benchmarks
// (swarm_bench.cpp: records; swarm_bus_bench.cpp: agent messages). Main
// thread only (it forks).
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/benchmarks.hpp"
#include "bench/coordd_process.hpp"
#include "bench/records.hpp"
#include "tests/support/nats_cluster.hpp"
#include "tests/support/workspace.hpp"

namespace coordd::bench {

inline constexpr std::string_view kRepoId = "bench.example/swarm";
inline constexpr std::string_view kClusterName = "benchswarm";

struct Host {
  std::string id;
  std::unique_ptr<Workspace> ws;
  std::unique_ptr<CoorddProcess> coordd;
  std::unique_ptr<RecordDir> dir;
};

class Swarm {
 public:
  // Starts the NATS cluster and `hosts` coordd, and waits until each has
  // settled (throws std::runtime_error after 30 s).
  Swarm(const BenchConfig& config, int hosts, const std::string& label);

  support::NatsCluster& nats() { return *nats_; }
  Host& host(int i) { return hosts_.at(std::size_t(i)); }
  int size() const { return int(hosts_.size()); }
  std::string bucket() const;

  boost::json::object cluster_status(int i);

  // Connected, caught up, nothing left to publish.
  static bool settled(const boost::json::object& cluster);
  void settle(int i);
  // Waits (30 s at most, else throws) until status.cluster.messages.ready
  // on host i.
  void await_messages_ready(int i);

  // The pids of the nats-server processes, found by their config files.
  std::vector<pid_t> nats_pids() const;

 private:
  support::TempDir dir_;
  std::unique_ptr<support::NatsCluster> nats_;
  std::vector<Host> hosts_;
};

}  // namespace coordd::bench
