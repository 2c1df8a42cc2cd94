#include "client/stop_signals.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <atomic>

namespace coordd {
namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> socket_to_shut{-1};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the signal handler needs lock-free atomics");

extern "C" void on_stop_signal(int /*signal*/) {
  stop_requested.store(true);
  // shutdown(2) is async-signal-safe; it wakes a poll() on that socket.
  int fd = socket_to_shut.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace

void StopSignals::install() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

bool StopSignals::requested() { return stop_requested.load(); }

void StopSignals::shut_down_on_stop(int fd) { socket_to_shut.store(fd); }

}  // namespace coordd
