// ServerFixture: the daemon's serving graph (a Monitor on a temp repository
// and a ServerCore) in this process, on a FakeClock, with clients on
// local::connect_pair. Tests step it: run() runs every ready handler and
// reads what each reading client was sent; advance() moves the fake clock
// (firing due alarms) and runs. Nothing waits in real time. One thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "daemon/server/server_core.hpp"
#include "daemon/watch/monitor.hpp"
#include "tests/support/workspace.hpp"
#include "tests/unit/fake_clock.hpp"

namespace coordd::testing {

// One client end. Lines received are kept in order; take() hands them out.
class FixtureClient {
 public:
  explicit FixtureClient(boost::asio::io_context& io) : socket_(io) {}
  boost::asio::local::stream_protocol::socket& socket() { return socket_; }

  // Writes one request line (the fixture's run() makes coordd read it).
  void send(const boost::json::object& request);
  // Stops (or resumes) reading, as a stalled client would.
  void set_reading(bool reading) { reading_ = reading; }
  // Reads what is available, if reading; notes when coordd closed the socket.
  void drain();
  bool closed_by_server() const { return closed_; }

  // Every line received and not yet taken.
  std::deque<boost::json::object>& lines() { return lines_; }
  // The first line not yet taken (fails the test when there is none).
  boost::json::object take();
  // Takes lines up to and including the first of `type`.
  boost::json::object take_until(std::string_view type);

 private:
  boost::asio::local::stream_protocol::socket socket_;
  std::string partial_;
  std::deque<boost::json::object> lines_;
  bool reading_ = true;
  bool closed_ = false;
};

class ServerFixture {
 public:
  // Small bounds, so queues, journals and mailboxes fill in a few lines.
  static ServerLimits small_limits();

  explicit ServerFixture(ServerLimits limits = small_limits());
  ~ServerFixture();
  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  // A new client with full access; `send_buffer` bounds what the kernel
  // holds for it (small, so a stalled client backs up into coordd's queue).
  FixtureClient& connect(int send_buffer = 4096);
  // Writes a record file atomically into the repository.
  void write_record(std::string_view kind_dir, std::string_view id,
                    const boost::json::object& data);
  // Runs ready handlers and lets reading clients drain, until nothing moves.
  void run();
  void advance(std::chrono::milliseconds by);
  boost::asio::io_context& io() { return io_; }
  MessageBus& bus() { return core_.bus(); }
  // Connections coordd holds open.
  std::size_t connections() { return core_.manager().size(); }

  FakeClock clock{at_start()};
  const ServerLimits limits;

 private:
  static WallTime at_start();

  boost::asio::io_context io_;
  support::TempDir dir_{"coordd-core"};
  std::string root_;
  Monitor monitor_;
  ServerCore core_;
  std::vector<std::unique_ptr<FixtureClient>> clients_;
};

}  // namespace coordd::testing
