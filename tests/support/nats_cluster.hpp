// NatsCluster: real nats-server JetStream nodes on loopback for the cluster
// suites: free ports picked once and kept for the object's life, a config,
// store dir and log per node under one directory; nodes killed, stopped and
// restarted; stream leaders read from the monitoring port. Node i (from 0) is
// server_name "n<i+1>". Thread rule: one thread makes, drives and drops it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"

namespace coordd::support {

namespace fs = std::filesystem;

struct NatsClusterOptions {
  std::string server = "nats-server";  // a path, or a name looked up in $PATH
  std::string cluster_name = "coordtest";
  // How long one start may take: every node healthy and, in a cluster, with a
  // JetStream meta leader.
  std::chrono::milliseconds ready_within = std::chrono::seconds(20);
  // Appended to every node's config as it is (e.g. an authorization block).
  std::string extra_config;
};

struct HttpReply {
  int status = 0;    // the HTTP status; 0 when there was no reply
  std::string body;  // the body; with status 0, what went wrong
};

// GET `path` from 127.0.0.1:`port` over HTTP/1.0 on a blocking socket; never
// takes longer than `within`, and never throws.
HttpReply http_get(int port, const std::string& path,
                   std::chrono::milliseconds within = std::chrono::seconds(2));

class NatsCluster {
 public:
  // Writes <dir>/n1.conf.. and starts `nodes` servers, waiting until all are
  // ready. Throws std::runtime_error when nats-server is missing (run
  // .ci/bootstrap.sh) or a node is not ready in time, with the tail of its log.
  explicit NatsCluster(const fs::path& dir, int nodes = 3, NatsClusterOptions options = {});
  // Stops every node still running (SIGTERM to all, then a reap of each).
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  int size() const { return static_cast<int>(nodes_.size()); }
  std::string server_name(int i) const;  // "n<i+1>"
  // "nats://127.0.0.1:PORT" of node i, and of every node, comma-separated.
  std::string url(int i) const;
  std::string urls() const;
  int client_port(int i) const;
  int monitor_port(int i) const;
  int cluster_port(int i) const;
  fs::path log(int i) const;  // the log of its current (or last) run

  // SIGKILL and reap; no-op when it is not running.
  void kill(int i);
  // SIGTERM, a reap within 10 s (then SIGKILL); no-op when it is not running.
  void stop(int i);
  // Starts a stopped or killed node on its ports and store dir and waits
  // until it is ready, as the constructor does (and throws as it does);
  // no-op when it is running.
  void start(int i);
  bool running(int i);

  // Whether node i answers /healthz with 200 and, in a cluster, sees a meta leader.
  bool ready(int i);
  // The server_name of the JetStream meta leader as node i sees it; "" when none.
  std::string meta_leader(int i);
  // The server_name leading `stream` (a KV bucket B is stream KV_B), as the
  // first running node hosting it reports; "" when unknown.
  std::string stream_leader(const std::string& stream);
  // The index of the node named `name`; -1 when there is none.
  int node_index(const std::string& name) const;
  // The last `lines` lines of node i's log.
  std::string log_tail(int i, std::size_t lines = 30) const;

 private:
  struct Node {
    int client_port = 0;
    int monitor_port = 0;
    int cluster_port = 0;
    int runs = 0;  // how many times it was started
    std::unique_ptr<ChildProcess> process;
  };

  void write_config(int i) const;
  void launch(int i);
  // Waits until every node in `which` is ready; throws for the first that is not.
  void await_ready(const std::vector<int>& which);
  const Node& node(int i) const;
  Node& node(int i);

  fs::path dir_;
  NatsClusterOptions options_;
  std::string server_path_;
  std::vector<Node> nodes_;
};

}  // namespace coordd::support
