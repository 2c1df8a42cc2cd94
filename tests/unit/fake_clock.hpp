// FakeClock: a Clock whose wall and steady time move only when a test says
// so; advance() moves both and posts the callbacks of the alarms it passes
// (run them with io.poll()), set() moves wall time alone (a clock step).
// One thread.
#pragma once

#include <boost/asio/post.hpp>
#include <map>
#include <utility>

#include "daemon/engine/clock.hpp"

namespace coordd::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start = WallTime{}) : now_(start) {}

  WallTime now() const override { return now_; }
  SteadyTime steady_now() const override { return steady_; }
  void set(WallTime time) { now_ = time; }
  void advance(std::chrono::microseconds by) {
    now_ += by;
    steady_ += by;
    fire_due();
  }

  std::unique_ptr<Alarm> make_alarm(const boost::asio::any_io_executor& executor) const override {
    return std::make_unique<FakeAlarm>(const_cast<FakeClock&>(*this), executor);
  }

 private:
  class FakeAlarm final : public Alarm {
   public:
    FakeAlarm(FakeClock& clock, boost::asio::any_io_executor executor)
        : clock_(clock), executor_(std::move(executor)) {}
    ~FakeAlarm() override { cancel(); }
    void arm(SteadyDuration after, std::function<void()> fire) override {
      cancel();
      fire_ = std::move(fire);
      key_ = {clock_.steady_ + after, clock_.next_order_++};
      clock_.pending_.emplace(key_, this);
      clock_.fire_due();
    }
    // As with an Asio timer, a dropped callback is released later, on the
    // executor: it may hold the last reference to its caller.
    void cancel() override {
      if (!fire_) return;
      clock_.pending_.erase(key_);
      boost::asio::post(executor_, [dropped = std::exchange(fire_, nullptr)] {});
    }
    void fire() {
      clock_.pending_.erase(key_);
      boost::asio::post(executor_, std::exchange(fire_, nullptr));
    }

   private:
    FakeClock& clock_;
    boost::asio::any_io_executor executor_;
    std::function<void()> fire_;
    std::pair<SteadyTime, std::uint64_t> key_;
  };

  void fire_due() {
    while (!pending_.empty() && pending_.begin()->first.first <= steady_) {
      pending_.begin()->second->fire();
    }
  }

  WallTime now_;
  SteadyTime steady_{};
  std::uint64_t next_order_ = 0;
  std::map<std::pair<SteadyTime, std::uint64_t>, FakeAlarm*> pending_;
};

}  // namespace coordd::testing
