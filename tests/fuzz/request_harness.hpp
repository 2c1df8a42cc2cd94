// RequestHarness: a ServerCore (the graph coordd's Daemon serves from) on a
// Monitor on the poll backend, serving one Connection on one
// end of a socket pair, so a fuzz target can hand frames straight to
// RequestHandler::handle and then let the reactor settle. Every line the
// client end receives must be one JSON object (FUZZ_CHECK). Built and torn
// down per fuzz input, so every input starts from the same state; one thread.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/server/connection.hpp"
#include "daemon/server/server_core.hpp"
#include "daemon/watch/monitor.hpp"

namespace coordd::fuzz {

class RequestHarness {
 public:
  // Watches `root` (absolute and canonical); see shared_root().
  explicit RequestHarness(const std::string& root);
  ~RequestHarness();
  RequestHarness(const RequestHarness&) = delete;
  RequestHarness& operator=(const RequestHarness&) = delete;

  // A repository made once per process in $TMPDIR, holding a few records so
  // list and snapshots have something to stream; removed at exit. Nothing
  // the harness does writes to it (the poll backend syncs by rescanning).
  static const std::string& shared_root();

  // Handles one frame (no '\n') as the connection's read loop would, unless
  // the connection has closed; then runs the reactor until it is idle,
  // reading and checking whatever reaches the client end.
  void handle(std::string_view frame);

 private:
  // Runs ready handlers and drains the client end until neither makes
  // progress, for a bounded number of rounds.
  void settle();
  // Appends received bytes and checks each line they complete.
  void check_lines(std::string_view bytes);

  boost::asio::io_context io_;
  Monitor monitor_;
  ServerCore core_;
  boost::asio::local::stream_protocol::socket client_;
  std::shared_ptr<Connection> connection_;
  std::array<char, 64 * 1024> read_buffer_{};
  std::string partial_line_;  // received after the last '\n'
};

}  // namespace coordd::fuzz
