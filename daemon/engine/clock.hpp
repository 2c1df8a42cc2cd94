// Clock: the daemon's only source of time, behind an interface so every rule
// about time (lease expiry, slow-consumer grace, mailbox TTL, sync timeouts,
// overflow back-off, uptime) runs on a fake clock in tests. Wall time stamps
// records and events and decides expiry; steady time measures durations and
// drives Alarms. Reactor thread only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "proto/timestamp.hpp"

namespace coordd {

using SteadyTime = std::chrono::steady_clock::time_point;
using SteadyDuration = std::chrono::steady_clock::duration;

// A one-shot timer on its Clock's steady time whose callback runs on the
// reactor. Re-arming replaces a pending callback; cancel() and destruction
// drop it uncalled, releasing what it captured later, on the reactor. As with
// an Asio timer, a callback already due and queued still runs: callbacks
// re-check their state.
class Alarm {
 public:
  virtual ~Alarm() = default;
  virtual void arm(SteadyDuration after, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime now() const = 0;
  virtual SteadyTime steady_now() const = 0;
  // An alarm whose callbacks run on `executor`; it must not outlive this clock.
  virtual std::unique_ptr<Alarm> make_alarm(const boost::asio::any_io_executor& executor) const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime now() const override {
    return std::chrono::time_point_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now());
  }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  std::unique_ptr<Alarm> make_alarm(const boost::asio::any_io_executor& executor) const override;
};

// The one SystemClock (it has no state).
const Clock& system_clock();

}  // namespace coordd
