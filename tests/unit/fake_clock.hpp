// FakeClock: a Clock whose wall and steady time move only when a test says
// so; advance() moves both, set() moves wall time alone (a clock step).
#pragma once

#include "daemon/engine/clock.hpp"

namespace coordd::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start) : now_(start) {}

  WallTime now() const override { return now_; }
  SteadyTime steady_now() const override { return steady_; }
  void set(WallTime time) { now_ = time; }
  void advance(std::chrono::microseconds by) {
    now_ += by;
    steady_ += by;
  }

 private:
  WallTime now_;
  SteadyTime steady_{};
};

}  // namespace coordd::testing
