// ChildProcess: a program the benchmark runs (coordd, inotifywait,
// seed_watch.py, redis-server) in its own process group, never left behind:
// the destructor stops the group (SIGTERM, SIGKILL after a grace period) and
// reaps it; PR_SET_PDEATHSIG kills it if the harness dies; and the handler
// installed by install_emergency_stop() kills every live group on SIGINT,
// SIGTERM or SIGHUP. Start and stop children from the main thread only:
// PDEATHSIG follows the thread that forked.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coordd::bench {

struct ChildOptions {
  bool capture_stdout = false;   // readable from stdout_fd()
  std::string output_path;       // stderr, and stdout unless captured; empty: /dev/null
  std::vector<std::string> env;  // "NAME=value" entries added to (or replacing) ours
};

struct ChildExit {
  int code = -1;               // exit status, or 128 + signal number
  long max_rss_kib = 0;        // ru_maxrss of the child
  std::int64_t reaped_ns = 0;  // CLOCK_MONOTONIC when it was reaped
};

class ChildProcess {
 public:
  // Throws std::runtime_error when the program is not found or fork fails.
  ChildProcess(std::vector<std::string> argv, ChildOptions options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& program() const { return argv0_; }
  // The read end of the child's stdout pipe (-1 unless captured).
  int stdout_fd() const { return stdout_fd_; }
  // Readable once the child has exited (for poll()).
  int exit_fd() const { return pidfd_; }
  // CLOCK_MONOTONIC just before fork: the start of start-to-ready times.
  std::int64_t started_ns() const { return started_ns_; }

  // Waits up to `timeout` for the child to exit by itself and reaps it.
  std::optional<ChildExit> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM to the group, SIGKILL after `grace`, then reaps. Idempotent.
  ChildExit stop(std::chrono::milliseconds grace = std::chrono::seconds(3));

 private:
  ChildExit reap();

  std::string argv0_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdout_fd_ = -1;
  std::int64_t started_ns_ = 0;
  std::optional<ChildExit> exit_;
};

// The absolute path of `program` (searched in $PATH when it has no '/'), or
// "" when there is no such executable.
std::string find_program(const std::string& program);

// Installs SIGINT/SIGTERM/SIGHUP handlers that SIGKILL every live child's
// process group and then die of the same signal.
void install_emergency_stop();

}  // namespace coordd::bench
