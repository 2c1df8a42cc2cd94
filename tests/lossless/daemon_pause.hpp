// DaemonPause: stops a daemon the test started (SIGSTOP) for the life of the
// object and continues it (SIGCONT) on destruction, even when the test fails.
// What is written to the watched tree meanwhile piles up in the daemon's
// inotify queue, so a burst larger than the queue overflows it for certain,
// not by the luck of scheduling. Main thread.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace coordd::lossless {

class DaemonPause {
 public:
  explicit DaemonPause(pid_t pid) : pid_(pid) { stopped_ = ::kill(pid_, SIGSTOP) == 0; }
  ~DaemonPause() {
    if (stopped_) ::kill(pid_, SIGCONT);
  }
  DaemonPause(const DaemonPause&) = delete;
  DaemonPause& operator=(const DaemonPause&) = delete;

  bool stopped() const { return stopped_; }

 private:
  pid_t pid_;
  bool stopped_ = false;
};

}  // namespace coordd::lossless
