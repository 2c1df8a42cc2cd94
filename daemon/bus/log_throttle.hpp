// LogThrottle: one kind of warning that a remote party can trigger as often
// as it likes (a refused client, a failing accept, a slow consumer, an
// expired mailbox), logged without flooding the log. The first occurrence is
// logged at once; later ones within the interval are only counted, and at
// the interval's end one line reports them: "<the latest> (N more in the
// last 10 s)". An interval with none ends the throttling, so the next one is
// again logged at once. Reactor thread only; its Alarm runs on the executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "daemon/engine/clock.hpp"

namespace coordd {

// How often a throttled warning may be logged.
inline constexpr SteadyDuration kWarningInterval = std::chrono::seconds(10);

class LogThrottle {
 public:
  // Receives each line to log; spdlog::warn by default.
  using Sink = std::function<void(const std::string& line)>;

  // `clock` must outlive this throttle.
  LogThrottle(const Clock& clock, const boost::asio::any_io_executor& executor,
              SteadyDuration interval = kWarningInterval, Sink sink = {});
  // Reports what is still counted, so a count is not lost at shutdown.
  ~LogThrottle();
  LogThrottle(const LogThrottle&) = delete;
  LogThrottle& operator=(const LogThrottle&) = delete;

  // One occurrence, described by `line`: logged now, or counted for the
  // summary at the end of the current interval.
  void warn(std::string line);

  // Occurrences counted and not logged on their own, since the start.
  std::uint64_t suppressed() const { return suppressed_total_; }

 private:
  void arm();
  void end_interval();
  void flush();

  SteadyDuration interval_;
  Sink sink_;
  std::unique_ptr<Alarm> alarm_;
  bool throttling_ = false;  // an occurrence was logged less than an interval ago
  std::uint64_t pending_ = 0;
  std::string latest_;
  std::uint64_t suppressed_total_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires with this throttle
};

}  // namespace coordd
