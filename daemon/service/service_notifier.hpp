// ServiceNotifier: tells a service manager how coordd is doing, per
// sd_notify(3), without libsystemd: READY=1 / STATUS= / RELOADING=1 /
// STOPPING=1 datagrams to $NOTIFY_SOCKET (a path or an @abstract name), and
// WATCHDOG=1 every half $WATCHDOG_USEC, sent from the reactor thread itself
// so a stuck reactor stops the pings and the manager restarts us.
// Does nothing when the variables are unset. Reactor thread only.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace coordd {

class ServiceNotifier {
 public:
  // Reads (and unsets, so children do not inherit them) NOTIFY_SOCKET,
  // WATCHDOG_USEC and WATCHDOG_PID.
  explicit ServiceNotifier(boost::asio::io_context& io);
  ~ServiceNotifier();
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  void ready(std::string_view status);
  void reloading();
  void stopping();
  void status(std::string_view status);
  // Starts the WATCHDOG=1 pings when the manager asked for them.
  void start_watchdog();
  void stop();

  std::chrono::microseconds watchdog_interval() const { return watchdog_usec_; }

 private:
  void send(std::string_view message);
  void ping();

  int fd_ = -1;
  sockaddr_un addr_{};
  socklen_t addr_len_ = 0;
  std::chrono::microseconds watchdog_usec_{0};
  boost::asio::steady_timer watchdog_timer_;
  bool stopped_ = false;
};

}  // namespace coordd
