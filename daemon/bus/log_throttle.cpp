#include "daemon/bus/log_throttle.hpp"

#include <spdlog/spdlog.h>

namespace coordd {
namespace {

std::string describe(SteadyDuration interval) {
  using std::chrono::duration_cast;
  auto ms = duration_cast<std::chrono::milliseconds>(interval).count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

LogThrottle::LogThrottle(const Clock& clock, const boost::asio::any_io_executor& executor,
                         SteadyDuration interval, Sink sink)
    : interval_(interval),
      sink_(sink ? std::move(sink) : [](const std::string& line) { spdlog::warn("{}", line); }),
      alarm_(clock.make_alarm(executor)) {}

LogThrottle::~LogThrottle() { flush(); }

void LogThrottle::warn(std::string line) {
  if (!throttling_) {
    sink_(line);
    throttling_ = true;
    arm();
    return;
  }
  ++pending_;
  ++suppressed_total_;
  latest_ = std::move(line);
}

// A callback already due when the throttle goes away still runs: it checks
// the token first.
void LogThrottle::arm() {
  alarm_->arm(interval_, [this, alive = std::weak_ptr<int>(alive_)] {
    if (!alive.expired()) end_interval();
  });
}

void LogThrottle::end_interval() {
  if (pending_ == 0) {
    throttling_ = false;
    return;
  }
  flush();
  arm();
}

void LogThrottle::flush() {
  if (pending_ == 0) return;
  sink_(latest_ + " (" + std::to_string(pending_) + " more in the last " + describe(interval_) +
        ")");
  pending_ = 0;
  latest_.clear();
}

}  // namespace coordd
