// ServerCore: everything a coordd serves from, wired on one io_context around
// a started Monitor: the journal, the connections, the sync barrier, the
// message bus and the request handler. The service layer adds the listening
// sockets, signals and the service manager; tests and fuzzers drive a core
// directly over socket pairs (connect()). Reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <vector>

#include "daemon/bus/log_throttle.hpp"
#include "daemon/bus/message_bus.hpp"
#include "daemon/server/connection.hpp"
#include "daemon/server/connection_manager.hpp"
#include "daemon/server/daemon_info.hpp"
#include "daemon/server/event_journal.hpp"
#include "daemon/server/lingering_closes.hpp"
#include "daemon/server/request_handler.hpp"
#include "daemon/watch/monitor.hpp"
#include "daemon/watch/sync_barrier.hpp"

namespace coordd {

// One read of any connection takes at most this much.
inline constexpr std::size_t kReadBufferBytes = 64 * 1024;

struct ServerLimits {
  std::size_t journal_events = kDefaultJournalEvents;
  std::size_t journal_bytes = kDefaultJournalBytes;
  ConnectionLimits connection;
  MessageLimits messages;
};

class ServerCore {
 public:
  // `monitor` must outlive the core.
  ServerCore(boost::asio::io_context& io, Monitor& monitor, ServerLimits limits, DaemonInfo info);
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  // Once the monitor has scanned every root: sync cookies are routed, the
  // messages `store` kept from the last run are put back in their mailboxes
  // (with a null store messages live in memory only), the journal starts
  // after the last seq and changes reach clients. `store` must outlive the core.
  void start(MessageStore* store = nullptr);
  // Closes every connection and abandons pending syncs.
  void stop();

  // Serves one client on `socket` (e.g. one end of local::connect_pair).
  std::shared_ptr<Connection> connect(boost::asio::local::stream_protocol::socket socket,
                                      PeerCredentials peer, Access access);

  ConnectionManager& manager() { return manager_; }
  ConnectionContext& context() { return context_; }
  RequestHandler& handler() { return handler_; }
  MessageBus& bus() { return bus_; }

 private:
  Monitor& monitor_;
  ServerLimits limits_;
  EventJournal journal_;
  ConnectionManager manager_;
  SyncBarrier sync_;
  MessageBus bus_;
  RequestHandler handler_;
  std::vector<char> read_buffer_;  // shared by every connection's reads
  LingeringCloses lingering_;
  LogThrottle slow_consumer_log_;
  ConnectionContext context_;
};

}  // namespace coordd
