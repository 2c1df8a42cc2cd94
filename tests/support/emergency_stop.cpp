#include "tests/support/emergency_stop.hpp"

#include <signal.h>

#include <atomic>
#include <cstddef>

namespace coordd::support {
namespace {

// Live children, for the signal handler: lock-free slots, 0 = free. A child
// beyond the last slot is simply not tracked.
constexpr std::size_t kMaxChildren = 256;
std::atomic<pid_t> live_children[kMaxChildren];

extern "C" void emergency_stop(int sig) {
  for (auto& slot : live_children) {
    pid_t target = slot.load();
    if (target != 0) ::kill(target, SIGKILL);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void track_child(pid_t target) {
  for (auto& slot : live_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, target)) return;
  }
}

void untrack_child(pid_t target) {
  for (auto& slot : live_children) {
    pid_t expected = target;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

void install_emergency_stop() {
  struct sigaction sa {};
  sa.sa_handler = emergency_stop;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace coordd::support
