// Clock: wall time (for lease expiry and event timestamps) behind an
// interface so the store and lease logic run on a fake clock in tests.
#pragma once

#include "proto/timestamp.hpp"

namespace coordd {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime now() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime now() const override {
    return std::chrono::time_point_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now());
  }
};

}  // namespace coordd
