#include "tests/support/poll_until.hpp"

#include <algorithm>
#include <thread>

namespace coordd::support {

PollBackoff::PollBackoff(std::chrono::nanoseconds max_pause)
    : next_(std::min<std::chrono::nanoseconds>(std::chrono::milliseconds(1), max_pause)),
      max_(max_pause) {}

bool PollBackoff::pause_until(PollClock::time_point deadline) {
  PollClock::time_point now = PollClock::now();
  if (now >= deadline) return false;
  std::this_thread::sleep_until(std::min(deadline, now + next_));
  next_ = std::min(next_ * 2, max_);
  return true;
}

}  // namespace coordd::support
