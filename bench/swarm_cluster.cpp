#include "bench/swarm_cluster.hpp"

#include <dirent.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "proto/cluster_names.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::bench {

namespace json = boost::json;
using namespace std::chrono_literals;

Swarm::Swarm(const BenchConfig& config, int hosts, const std::string& label)
    : dir_(label + "-nats", config.scratch) {
  nats_ = std::make_unique<support::NatsCluster>(dir_.path());
  for (int i = 0; i < hosts; ++i) {
    Host host;
    host.id = std::string(1, char('a' + i));
    host.ws = std::make_unique<Workspace>(workspace_in(config, label + "-" + host.id));
    std::vector<std::string> flags{"--cluster",
                                   nats_->url(i % nats_->size()),
                                   "--no-cluster-discovery",
                                   "--cluster-name",
                                   std::string(kClusterName),
                                   "--host-id",
                                   host.id,
                                   "--repo-id",
                                   host.ws->repo().string() + "=" + std::string(kRepoId),
                                   "--state-dir",
                                   "none"};
    host.coordd = std::make_unique<CoorddProcess>(config.coordd, *host.ws, flags);
    host.dir = std::make_unique<RecordDir>(host.ws->kind_dir("reservations"));
    hosts_.push_back(std::move(host));
  }
  for (int i = 0; i < hosts; ++i) settle(i);
}

std::string Swarm::bucket() const { return records_bucket(kClusterName); }

json::object Swarm::cluster_status(int i) {
  CoordClient client = host(i).coordd->connect();
  return call_or_throw(client, {{"op", "status"}}).at("cluster").as_object();
}

bool Swarm::settled(const json::object& cluster) {
  const json::array& repos = cluster.at("repos").as_array();
  return cluster.at("connected") == true && cluster.at("backlog") == 0 &&
         cluster.at("in_flight") == 0 && repos.size() == 1 && repos[0].at("caught_up") == true;
}

void Swarm::settle(int i) {
  json::object cluster;
  bool ok = support::poll_until(
      support::PollClock::now() + 30s,
      [&] {
        cluster = cluster_status(i);
        return settled(cluster);
      },
      20ms);
  if (!ok) {
    throw std::runtime_error("coordd " + host(i).id + " did not settle in the swarm: " +
                             json::serialize(cluster) + "\n" + host(i).coordd->log_tail());
  }
}

void Swarm::await_messages_ready(int i) {
  json::object cluster;
  bool ok = support::poll_until(
      support::PollClock::now() + 30s,
      [&] {
        cluster = cluster_status(i);
        const json::object* messages =
            cluster.if_contains("messages") ? cluster.at("messages").if_object() : nullptr;
        return messages != nullptr && messages->if_contains("ready") &&
               messages->at("ready") == true;
      },
      20ms);
  if (!ok) {
    throw std::runtime_error("coordd " + host(i).id + "'s swarm messages never became ready: " +
                             json::serialize(cluster) + "\n" + host(i).coordd->log_tail());
  }
}

std::vector<pid_t> Swarm::nats_pids() const {
  std::vector<pid_t> pids(std::size_t(nats_->size()), 0);
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* entry = ::readdir(proc)) {
    pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    std::ifstream in("/proc/" + std::string(entry->d_name) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    for (int i = 0; i < nats_->size(); ++i) {
      std::string conf = (dir_.path() / (nats_->server_name(i) + ".conf")).string();
      if (cmdline.find(conf) != std::string::npos) pids[std::size_t(i)] = pid;
    }
  }
  ::closedir(proc);
  return pids;
}

}  // namespace coordd::bench
