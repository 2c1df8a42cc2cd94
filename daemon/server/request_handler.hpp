// RequestHandler: turns one NDJSON request line into replies on its
// connection (protocol v1, proto/PROTOCOL.md). Every bad request gets an
// error reply naming what was wrong and what is expected; nothing a client
// sends can throw out of handle(). Reactor thread only.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace coordd {

class Connection;
class ConnectionManager;
class Engine;
class EventJournal;
class SyncBarrier;
class Request;
class MessageBus;
class Monitor;
struct ConnectionLimits;

inline constexpr int kProtocolVersion = 1;

// Facts about this daemon run that replies report.
struct DaemonInfo {
  std::string epoch;  // names this run; changes on every start
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::function<std::string()> backend;  // "inotify", "poll", ...
  bool test_hooks = false;               // enables debug_stall (tests only)
};

class RequestHandler {
 public:
  RequestHandler(Monitor& monitor, EventJournal& journal, ConnectionManager& manager,
                 SyncBarrier& sync, MessageBus& bus, const ConnectionLimits& limits,
                 DaemonInfo info);

  void handle(Connection& connection, std::string_view frame);

  // `{"type":"error","req":...,"code":...,"message":...}\n`; req may be null.
  static std::string error_line(const boost::json::value* req, std::string_view code,
                                std::string_view message);

 private:
  void hello(Connection& connection, Request& request);
  void subscribe(Connection& connection, Request& request);
  void unsubscribe(Connection& connection, Request& request);
  void list(Connection& connection, Request& request);
  void status(Connection& connection, Request& request);
  void sync(Connection& connection, Request& request);
  void send(Connection& connection, Request& request, bool broadcast);
  void watch_root(Connection& connection, Request& request);
  void unwatch_root(Connection& connection, Request& request);

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
