// Subscriber: one client of the real coordd holding one subscription, feeding
// every line of it to a StreamChecker, across reconnections. Unlike the
// integration fixture's EventReader it never fails the test itself -- doctest's
// FAIL cannot leave a reader thread -- so every call says whether it worked
// and keeps the reason in error(); the test asserts on the main thread.
// One thread at a time.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client/coord_client.hpp"
#include "tests/lossless/stream_checker.hpp"

namespace coordd::lossless {

using SteadyClock = std::chrono::steady_clock;

// A resume point: the daemon run (hello's epoch) and the last seq received.
struct Since {
  std::string epoch;
  std::uint64_t seq = 0;
};

class Subscriber {
 public:
  // `filters` are subscribe's fields (kinds, run_id, ...), sent on every
  // (re)subscription.
  Subscriber(std::filesystem::path socket, json::object filters);

  // Connects and says hello, learning the daemon's epoch.
  bool connect();
  // Subscribes on the current connection, with `since` when given, and
  // returns the reply (subscribed, or an error line); a subscribed reply is
  // fed to the checker. Snapshot lines are left for the reads that follow.
  std::optional<json::object> subscribe(std::optional<Since> since = std::nullopt);
  // Reconnects and resumes from the checker's resume point in the epoch the
  // stream's state came from.
  std::optional<json::object> resume();
  void disconnect();

  enum class Read { kLine, kTimeout, kFailed };
  // Reads the next line, feeding it to the checker when it belongs to the
  // subscription. kFailed when the connection broke (see error()).
  Read read_line(json::object& line, SteadyClock::time_point deadline);
  // Reads until `done` accepts a line; false at the deadline or on failure.
  bool read_until(const std::function<bool(const json::object&)>& done,
                  SteadyClock::time_point deadline);
  // Sends `request` and reads, in order, every line up to its reply.
  std::optional<json::object> request(json::object request, SteadyClock::time_point deadline);
  // A sync barrier with `timeout_ms`, sent again after each sync_timeout
  // until `deadline`; returns synced's seq.
  std::optional<std::uint64_t> sync(std::uint64_t timeout_ms, SteadyClock::time_point deadline);

  StreamChecker& checker() { return checker_; }
  const StreamChecker& checker() const { return checker_; }
  // The epoch of the daemon this connection talks to.
  const std::string& epoch() const { return epoch_; }
  std::uint64_t sub() const { return sub_; }
  int fd() const { return client_.fd(); }
  const std::string& error() const { return error_; }
  std::uint64_t sync_timeouts() const { return sync_timeouts_; }
  // Keeps every line received (off by default: churn streams are long).
  void keep_lines(bool keep) { keep_lines_ = keep; }
  const std::vector<json::object>& lines() const { return lines_; }

 private:
  void take(const json::object& line);
  bool fail(std::string why);

  std::filesystem::path socket_;
  json::object filters_;
  CoordClient client_;
  StreamChecker checker_;
  std::string epoch_;
  std::string stream_epoch_;  // the epoch the checker's state belongs to
  std::uint64_t sub_ = 0;
  std::uint64_t next_req_ = 1;
  std::uint64_t sync_timeouts_ = 0;
  bool keep_lines_ = false;
  std::vector<json::object> lines_;
  std::string error_;
};

}  // namespace coordd::lossless
