// FakeClock: a Clock whose now() moves only when a test says so.
#pragma once

#include "daemon/engine/clock.hpp"

namespace coordd::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start) : now_(start) {}

  WallTime now() const override { return now_; }
  void set(WallTime time) { now_ = time; }
  void advance(std::chrono::microseconds by) { now_ += by; }

 private:
  WallTime now_;
};

}  // namespace coordd::testing
