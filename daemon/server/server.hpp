// Server: the listening Unix socket. It secures the socket's directory
// (owned by us, no group/other write), refuses to start when a live daemon
// already answers there, replaces a stale socket, binds with mode 0600 before
// accepting anything, and hands each client to a Connection. All of that
// under an exclusive lock on <socket>.lock, held until stop, so of two
// daemons started at once on one path exactly one serves. On stop it
// unlinks only the socket file it created. Reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "daemon/bus/log_throttle.hpp"
#include "daemon/server/connection.hpp"
#include "daemon/server/peer_policy.hpp"

namespace coordd {

class ConnectionManager;

class Server {
 public:
  // Accepted clients become Connections on `context`, owned by `manager`.
  Server(boost::asio::io_context& io, ConnectionManager& manager, ConnectionContext& context,
         PeerPolicy policy);
  // Stops, so a daemon that fails after listen() leaves no socket behind.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates and listens on `path`; throws std::runtime_error with a message
  // saying what to do when that is not possible.
  void listen(const std::string& path);
  // Adopts an already-listening socket (socket activation); it is never unlinked.
  void adopt(int fd);
  // Starts accepting on every listening socket.
  void start();
  void stop();

 private:
  void accept(boost::asio::local::stream_protocol::acceptor& acceptor);

  boost::asio::io_context& io_;
  ConnectionManager& manager_;
  ConnectionContext& context_;
  PeerPolicy policy_;
  LogThrottle refused_log_;        // a refused client, once per interval
  LogThrottle accept_failed_log_;  // EMFILE, ENFILE: once per interval
  std::unique_ptr<boost::asio::steady_timer> retry_timer_;
  std::vector<std::unique_ptr<boost::asio::local::stream_protocol::acceptor>> acceptors_;
  std::string created_path_;
  std::uint64_t created_inode_ = 0;
  int lock_fd_ = -1;  // flock'd <socket>.lock, held while listening on created_path_
  bool stopped_ = false;
};

}  // namespace coordd
