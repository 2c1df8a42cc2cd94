#include "daemon/service/service_notifier.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "proto/display.hpp"

namespace coordd {

ServiceNotifier::ServiceNotifier(boost::asio::io_context& io) : watchdog_timer_(io) {
  const char* socket_env = std::getenv("NOTIFY_SOCKET");
  std::string path = socket_env ? socket_env : "";
  if (const char* usec = std::getenv("WATCHDOG_USEC")) {
    const char* pid = std::getenv("WATCHDOG_PID");
    bool ours = pid == nullptr || std::strtol(pid, nullptr, 10) == long(::getpid());
    long long value = std::strtoll(usec, nullptr, 10);
    if (ours && value > 0) watchdog_usec_ = std::chrono::microseconds(value);
  }
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  if (path.empty()) return;
  if ((path[0] != '/' && path[0] != '@') || path.size() >= sizeof addr_.sun_path) {
    spdlog::warn("ignoring NOTIFY_SOCKET={}: not an absolute path or @abstract name", path);
    return;
  }
  addr_.sun_family = AF_UNIX;
  std::memcpy(addr_.sun_path, path.data(), path.size());
  if (path[0] == '@') addr_.sun_path[0] = '\0';  // abstract namespace
  addr_len_ = socklen_t(offsetof(sockaddr_un, sun_path) + path.size());
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) spdlog::warn("cannot notify the service manager: socket: {}", std::strerror(errno));
}

ServiceNotifier::~ServiceNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

void ServiceNotifier::send(std::string_view message) {
  if (fd_ < 0) return;
  // MSG_DONTWAIT: a manager that stopped reading fills its queue
  // (net.unix.max_dgram_qlen datagrams); the reactor must never wait for it.
  if (::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&addr_), addr_len_) < 0) {
    spdlog::debug("sd_notify({}) failed: {}", escape_control(message), std::strerror(errno));
  }
}

void ServiceNotifier::ready(std::string_view status) {
  send("READY=1\nSTATUS=" + std::string(status) + "\nMAINPID=" + std::to_string(::getpid()));
}

void ServiceNotifier::reloading() {
  // MONOTONIC_USEC lets Type=notify-reload managers match the reload.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  long long usec = (long long)now.tv_sec * 1'000'000 + now.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::stopping() { send("STOPPING=1"); }

void ServiceNotifier::status(std::string_view status) { send("STATUS=" + std::string(status)); }

void ServiceNotifier::start_watchdog() {
  if (fd_ < 0 || watchdog_usec_.count() <= 0) return;
  spdlog::info("watchdog: pinging every {} ms", watchdog_usec_.count() / 2000);
  ping();
}

void ServiceNotifier::ping() {
  if (stopped_) return;
  send("WATCHDOG=1");
  watchdog_timer_.expires_after(watchdog_usec_ / 2);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) ping();
  });
}

void ServiceNotifier::stop() {
  stopped_ = true;
  watchdog_timer_.cancel();
}

}  // namespace coordd
