#include "daemon/engine/clock.hpp"

#include <boost/asio/steady_timer.hpp>

namespace coordd {
namespace {

// An Alarm on an Asio steady_timer. The callback lives in the wait's handler
// only, so a cancelled or destroyed alarm releases it when Asio completes the
// aborted wait.
class SteadyAlarm final : public Alarm {
 public:
  explicit SteadyAlarm(const boost::asio::any_io_executor& executor) : timer_(executor) {}

  void arm(SteadyDuration after, std::function<void()> fire) override {
    timer_.expires_after(after);  // cancels a pending wait
    timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& ec) {
      if (!ec) fire();
    });
  }
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

std::unique_ptr<Alarm> SystemClock::make_alarm(const boost::asio::any_io_executor& executor) const {
  return std::make_unique<SteadyAlarm>(executor);
}

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace coordd
