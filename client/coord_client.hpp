// CoordClient: the client side of the coordd protocol. A blocking Unix-socket
// connection that sends NDJSON requests and reads framed lines with a
// deadline. Used by coordctl and by the integration tests. Not thread-safe;
// one per thread.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "proto/ndjson_framer.hpp"

namespace coordd {

class CoordClient {
 public:
  using Deadline = std::optional<std::chrono::steady_clock::time_point>;

  enum class Status {
    kOk,
    kTimeout,      // the deadline passed
    kClosed,       // the daemon closed the connection
    kInterrupted,  // a signal arrived (EINTR); check your flags and call again
    kError,        // see error()
  };

  // Replies can be large (a list of every record); far above any request.
  static constexpr std::size_t kMaxReplyBytes = std::size_t(1) << 30;

  CoordClient() = default;
  ~CoordClient();
  CoordClient(CoordClient&& other) noexcept;
  CoordClient& operator=(CoordClient&& other) noexcept;
  CoordClient(const CoordClient&) = delete;
  CoordClient& operator=(const CoordClient&) = delete;

  // Connects to `socket_path`, refusing a socket in a directory or served
  // by a process it cannot trust (see server_trust.hpp). On failure returns
  // false and sets error(); no_daemon() then tells whether nothing is
  // listening there (ENOENT, ECONNREFUSED) as opposed to another problem
  // (EACCES, an untrusted server, ...).
  bool connect(const std::string& socket_path);
  bool connected() const { return fd_ >= 0; }
  bool no_daemon() const { return no_daemon_; }
  const std::string& error() const { return error_; }

  // Writes one line (a '\n' is appended).
  Status send_line(std::string_view line, Deadline deadline = std::nullopt);
  Status send(const boost::json::object& request, Deadline deadline = std::nullopt);

  // Reads the next line (without '\n'): lines set aside by call() first.
  Status read_line(std::string& line, Deadline deadline);

  // Sends `request` with a fresh "req" and reads until the reply carrying
  // that req; every other line read meanwhile is kept for read_line().
  Status call(boost::json::object request, boost::json::object& reply, Deadline deadline);

  void shutdown_write();
  void close();
  int fd() const { return fd_; }

 private:
  Status wait(short events, Deadline deadline);

  int fd_ = -1;
  bool no_daemon_ = false;
  std::string error_;
  NdjsonFramer framer_{kMaxReplyBytes};
  std::deque<std::string> pending_;
  std::uint64_t next_req_ = 1;
};

// Deadline helper: now + seconds.
inline CoordClient::Deadline deadline_in(std::chrono::milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

}  // namespace coordd
