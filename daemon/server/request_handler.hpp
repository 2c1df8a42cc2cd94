// RequestHandler: turns one NDJSON request line into replies on its
// connection (protocol v1, proto/PROTOCOL.md). The ops exist once, in a
// table (name, whether a read-only peer is refused, handler). Every bad
// request gets an error reply naming what was wrong and what is expected;
// nothing a client sends can throw out of handle(). Reactor thread only.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "daemon/server/connection.hpp"
#include "daemon/server/daemon_info.hpp"
#include "proto/wire.hpp"

namespace coordd {

class ConnectionManager;
class Engine;
class EventJournal;
class MessageBus;
class Monitor;
class Request;
class SyncBarrier;

class RequestHandler final : public FrameHandler {
 public:
  RequestHandler(Monitor& monitor, EventJournal& journal, ConnectionManager& manager,
                 SyncBarrier& sync, MessageBus& bus, const ConnectionLimits& limits,
                 DaemonInfo info);

  void handle(Connection& connection, std::string_view frame) override;

 private:
  struct Op;
  static std::span<const Op> ops();  // the table
  static const Op* find_op(std::string_view name);
  static std::string op_names();

  void hello(Connection& connection, Request& request);
  // The hello reply line (`agent` when the connection is one now).
  std::string hello_reply(ReqId req, const std::optional<std::string>& agent, std::size_t waiting,
                          Delivery delivery = {}, bool mailbox = true) const;
  void subscribe(Connection& connection, Request& request);
  void unsubscribe(Connection& connection, Request& request);
  void list(Connection& connection, Request& request);
  void status(Connection& connection, Request& request);
  void ping(Connection& connection, Request& request);
  void sync(Connection& connection, Request& request);
  void send(Connection& connection, Request& request);
  void ack(Connection& connection, Request& request);
  void broadcast(Connection& connection, Request& request);
  void send_or_broadcast(Connection& connection, Request& request, bool broadcast);
  void watch_root(Connection& connection, Request& request);
  void unwatch_root(Connection& connection, Request& request);
  void debug_stall(Connection& connection, Request& request);

  Monitor& monitor_;
  Engine& engine_;
  EventJournal& journal_;
  ConnectionManager& manager_;
  SyncBarrier& sync_;
  MessageBus& bus_;
  const ConnectionLimits& limits_;
  DaemonInfo info_;
};

}  // namespace coordd
