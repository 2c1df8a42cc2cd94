// DaemonConnection: a CoordClient that has said hello to coordd, with what
// the daemon told about itself, and the request/reply helper every command
// uses. Connection failures are values: no_daemon tells "nothing listens
// there" (so watch may run standalone) from other problems. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "client/coord_client.hpp"

namespace coordd {

// How long a command waits for one reply (a list of every record included)
// unless its --timeout says otherwise.
inline constexpr std::chrono::milliseconds kReplyTimeout{10'000};

struct DaemonHello {
  std::string server;  // "coordd/0.1.0"
  std::string epoch;
  std::vector<std::string> roots;
};

struct DaemonConnection {
  CoordClient client;
  DaemonHello hello;
  bool no_daemon = false;  // nothing listens at the socket (ENOENT, ECONNREFUSED)
  std::string error;       // empty when connected and greeted

  bool ok() const { return error.empty(); }
  bool watches_root(std::string_view root) const;
};

// Connects to `socket_path` and exchanges hello (waiting at most `timeout`).
DaemonConnection connect_daemon(const std::string& socket_path,
                                std::chrono::milliseconds timeout = kReplyTimeout);

// Sends `request` and waits for its reply. Returns "" or what went wrong: a
// timeout, a closed connection, a signal ("interrupted") or the daemon's error
// reply (its code and message).
std::string call_daemon(CoordClient& client, boost::json::object request,
                        boost::json::object& reply,
                        std::chrono::milliseconds timeout = kReplyTimeout);

// How to start a daemon for `root` on `socket_path`, for error messages.
std::string start_daemon_hint(const std::string& root, const std::string& socket_path);

// Connects like connect_daemon; on failure prints "❌ no coordd answers at
// ..." with how to start one on stderr and returns nullopt.
std::optional<DaemonConnection> connect_daemon_or_explain(
    const std::string& socket_path, std::chrono::milliseconds timeout = kReplyTimeout);

// The --socket flag every command takes, with the default path explained.
void add_socket_option(CLI::App* command, std::string& socket);
// The --timeout flag of list, status and ping: seconds to wait for each reply.
void add_timeout_option(CLI::App* command, double& seconds);
// --timeout's seconds as a duration.
std::chrono::milliseconds reply_timeout(double seconds);

}  // namespace coordd
