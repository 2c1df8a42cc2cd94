// poll_until: waits for a state nothing announces (a count in a status reply,
// a line in a log file) by re-checking it after short pauses that grow from
// 1 ms to a cap, until it holds or a deadline passes. Never a way to sleep
// before asserting: it returns as soon as the check holds. Any thread.
#pragma once

#include <chrono>
#include <concepts>
#include <utility>

namespace coordd::support {

using PollClock = std::chrono::steady_clock;

// The longest pause between two checks, unless a caller says otherwise.
inline constexpr std::chrono::milliseconds kPollMaxPause{10};

// The pauses of one poll: 1 ms, doubled each time, up to `max_pause`.
class PollBackoff {
 public:
  explicit PollBackoff(std::chrono::nanoseconds max_pause = kPollMaxPause);
  // Sleeps the next pause, cut short at `deadline`; false, at once, when the
  // deadline has passed.
  bool pause_until(PollClock::time_point deadline);

 private:
  std::chrono::nanoseconds next_;
  std::chrono::nanoseconds max_;
};

// True as soon as `holds()` does; false when it still does not at `deadline`
// (it is checked once more when the deadline comes).
template <std::predicate Check>
bool poll_until(PollClock::time_point deadline, Check&& holds,
                std::chrono::nanoseconds max_pause = kPollMaxPause) {
  PollBackoff backoff(max_pause);
  while (!holds()) {
    if (!backoff.pause_until(deadline)) return false;
  }
  return true;
}

template <std::predicate Check>
bool poll_until(std::chrono::nanoseconds timeout, Check&& holds,
                std::chrono::nanoseconds max_pause = kPollMaxPause) {
  return poll_until(PollClock::now() + timeout, std::forward<Check>(holds), max_pause);
}

}  // namespace coordd::support
