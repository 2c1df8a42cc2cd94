#include "daemon/watch/wall_timer.hpp"

#include <spdlog/spdlog.h>

#ifdef __linux__
#include <sys/timerfd.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>
#else
#include <boost/asio/system_timer.hpp>
#endif

namespace coordd {

#ifdef __linux__

class WallTimer::Impl {
 public:
  Impl(boost::asio::io_context& io, std::function<void()> on_fire)
      : fd_(io, create()), on_fire_(std::move(on_fire)) {}

  void arm(std::optional<WallTime> deadline) {
    if (stopped_) return;
    itimerspec spec{};
    if (deadline) {
      auto us = deadline->time_since_epoch().count();
      if (us <= 0) us = 1;  // zero would disarm
      spec.it_value.tv_sec = us / 1'000'000;
      spec.it_value.tv_nsec = (us % 1'000'000) * 1000;
    }
    int flags = deadline ? TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET : 0;
    if (::timerfd_settime(fd_.native_handle(), flags, &spec, nullptr) != 0) {
      spdlog::error("timerfd_settime: {}", std::strerror(errno));
      return;
    }
    if (deadline && !waiting_) wait();
  }

  void stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    fd_.close(ignored);
  }

 private:
  static int create() {
    int fd = ::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create");
    return fd;
  }

  void wait() {
    waiting_ = true;
    fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this](const boost::system::error_code& ec) {
                     waiting_ = false;
                     if (ec || stopped_) return;
                     std::uint64_t expirations = 0;
                     // ECANCELED: the clock was stepped. Either way, re-check now.
                     ssize_t n = ::read(fd_.native_handle(), &expirations, sizeof expirations);
                     if (n < 0 && errno == EAGAIN) {
                       wait();  // spurious readiness
                       return;
                     }
                     on_fire_();
                   });
  }

  boost::asio::posix::stream_descriptor fd_;
  std::function<void()> on_fire_;
  bool waiting_ = false;
  bool stopped_ = false;
};

#else

class WallTimer::Impl {
 public:
  Impl(boost::asio::io_context& io, std::function<void()> on_fire)
      : timer_(io), on_fire_(std::move(on_fire)) {}

  void arm(std::optional<WallTime> deadline) {
    if (stopped_) return;
    timer_.cancel();
    if (!deadline) return;
    // system_timer measures a duration, so a clock step is only noticed at
    // the next wake-up: cap the wait while a deadline is pending.
    auto cap = std::chrono::system_clock::now() + std::chrono::seconds(1);
    timer_.expires_at(std::min<std::chrono::system_clock::time_point>(*deadline, cap));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopped_) on_fire_();
    });
  }

  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

 private:
  boost::asio::system_timer timer_;
  std::function<void()> on_fire_;
  bool stopped_ = false;
};

#endif

WallTimer::WallTimer(boost::asio::io_context& io, std::function<void()> on_fire)
    : impl_(std::make_unique<Impl>(io, std::move(on_fire))) {}

WallTimer::~WallTimer() = default;

void WallTimer::arm(std::optional<WallTime> deadline) { impl_->arm(deadline); }

void WallTimer::stop() { impl_->stop(); }

}  // namespace coordd
