// Daemon: one coordd run. Wires the engine, the watch backend, the expiry
// timer, the journal, the server and the signals into one io_context run by
// one thread. Construction does everything that can fail at start-up (and
// throws std::runtime_error saying what to do); run() serves until SIGINT or
// SIGTERM and returns the exit code.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <string>
#include <vector>

#include "daemon/connection.hpp"
#include "daemon/connection_manager.hpp"
#include "daemon/event_journal.hpp"
#include "daemon/monitor.hpp"
#include "daemon/request_handler.hpp"
#include "daemon/message_bus.hpp"
#include "daemon/server.hpp"
#include "daemon/sync_barrier.hpp"

namespace coordd {

struct DaemonOptions {
  std::vector<std::string> roots;  // absolute, canonical
  std::string socket_path;
  EngineOptions engine;
  ConnectionLimits connection;
  std::size_t journal_events = kDefaultJournalEvents;
  std::size_t journal_bytes = kDefaultJournalBytes;
  MessageLimits messages;
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

  DaemonOptions options_;
  boost::asio::io_context io_;
  Monitor monitor_;
  EventJournal journal_;
  ConnectionManager manager_;
  SyncBarrier sync_;
  MessageBus bus_;
  RequestHandler handler_;
  ConnectionContext context_;
  Server server_;
  boost::asio::signal_set signals_;
  bool stopped_ = false;
};

}  // namespace coordd
