// WallTimer: calls back at an absolute wall-clock time, and also as soon as
// the wall clock is stepped, so a step forward cannot leave a lease active
// past its expiry. Linux: a timerfd on CLOCK_REALTIME with
// TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET inside the reactor. Elsewhere: an
// Asio system_timer that re-checks at least every second while armed.
// Never wakes while disarmed. Reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>

#include "proto/timestamp.hpp"

namespace coordd {

class WallTimer {
 public:
  WallTimer(boost::asio::io_context& io, std::function<void()> on_fire);
  ~WallTimer();
  WallTimer(const WallTimer&) = delete;
  WallTimer& operator=(const WallTimer&) = delete;

  // Fires once at `deadline` (at once if it has passed); nullopt disarms.
  void arm(std::optional<WallTime> deadline);
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coordd
