// Clock: the daemon's only source of time, behind an interface so every rule
// about time (lease expiry, slow-consumer grace, overflow back-off, uptime)
// runs on a fake clock in tests. Wall time stamps records and events and
// decides expiry; steady time measures durations. Reactor thread only.
#pragma once

#include <chrono>

#include "proto/timestamp.hpp"

namespace coordd {

using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime now() const = 0;
  virtual SteadyTime steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime now() const override {
    return std::chrono::time_point_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now());
  }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
};

// The one SystemClock (it has no state).
inline const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace coordd
