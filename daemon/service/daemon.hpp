// Daemon: one coordd run. Wires the Monitor (engine, watch backends, expiry
// timer), the journal, the message bus and its log, the sync barrier, the server and the
// service manager (socket activation, readiness, watchdog) into one
// io_context run by one thread. Construction does everything that can fail at
// start-up and throws std::runtime_error saying what to do; run() serves
// until SIGINT or SIGTERM (SIGHUP reloads) and returns the exit code.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <set>
#include <string>
#include <vector>

#include "daemon/bus/message_log.hpp"
#include "daemon/cluster/cluster_link.hpp"
#include "daemon/server/peer_policy.hpp"
#include "daemon/server/server.hpp"
#include "daemon/server/server_core.hpp"
#include "daemon/service/service_notifier.hpp"
#include "daemon/watch/monitor.hpp"

namespace coordd {

struct DaemonOptions {
  std::vector<std::string> roots;  // absolute, canonical (from --root)
  std::string roots_file;          // re-read on SIGHUP
  std::string socket_path;         // unused when socket-activated
  MonitorOptions monitor;
  ConnectionLimits connection;
  std::size_t journal_events = kDefaultJournalEvents;
  std::size_t journal_bytes = kDefaultJournalBytes;
  MessageLimits messages;
  std::string state_dir;         // the message log's directory; empty: memory only
  bool state_dir_given = false;  // named by --state-dir (else the default: unusable is not fatal)
  bool message_fsync = true;     // fdatasync each targeted message before `sent`
  PeerPolicy peers;
  bool test_hooks = false;
  // The swarm to join; no servers: none (no NATS connection, no thread).
  ClusterOptions cluster;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int run();
  void shutdown();

 private:
  static std::string make_epoch();
  void wait_for_signals();
  void wait_for_reload();
  void reload();
  std::string status_line() const;

  DaemonOptions options_;
  boost::asio::io_context io_;
  ServiceNotifier notifier_;
  Monitor monitor_;
  std::string epoch_;
  std::unique_ptr<ClusterLink> cluster_;     // when --cluster is given
  std::unique_ptr<MessageLog> message_log_;  // outlives the core, whose bus records in it
  ServerCore core_;
  Server server_;
  boost::asio::signal_set stop_signals_;
  boost::asio::signal_set reload_signals_;
  std::set<std::string> file_roots_;  // roots that came from --roots-file
  std::string listening_on_;
  bool stopped_ = false;
};

}  // namespace coordd
