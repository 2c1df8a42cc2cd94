// ChildProcess: runs a program with its stdout and stderr on pipes so a test
// can read its output line by line with deadlines (never sleeping), signal it
// and wait for its exit with a deadline. The destructor kills (SIGKILL) and
// reaps a child still running, so a failed test leaves nothing behind.
// One thread; not copyable.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace coordctl_test {

using namespace std::chrono_literals;

struct ExitStatus {
  bool exited = false;  // false: killed by `signal`
  int code = -1;
  int signal = 0;
};

class ChildProcess {
 public:
  // Starts `argv[0]` (a path). `env` entries "NAME=value" set a variable and
  // "NAME" removes it from the inherited environment. stdin is /dev/null.
  explicit ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads output until `done()` holds, stdout closes, or `within` passes;
  // returns done()'s last value.
  bool read_until(const std::function<bool()>& done, std::chrono::milliseconds within);
  // Shorthands: until stdout has `count` complete lines / stderr contains `text`.
  bool read_lines(std::size_t count, std::chrono::milliseconds within);
  bool read_stderr_until(const std::string& text, std::chrono::milliseconds within);

  // Complete stdout lines so far (without '\n'), and all of stderr so far.
  const std::vector<std::string>& lines() const { return lines_; }
  const std::string& stderr_text() const { return stderr_; }
  std::string stdout_text() const;

  void send_signal(int signal);
  // Reads the rest of the output and reaps the child; nullopt if it is still
  // running after `within`.
  std::optional<ExitStatus> wait(std::chrono::milliseconds within);

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  // Waits for output or exit until `deadline`; false once the deadline passed.
  bool pump(Deadline deadline);
  void reap_if_exited();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int pid_fd_ = -1;
  std::optional<ExitStatus> exit_;
  std::string partial_;
  std::vector<std::string> lines_;
  std::string stderr_;
};

struct RunResult {
  ExitStatus status;
  std::vector<std::string> lines;
  std::string out;
  std::string err;
};

// Runs a program to its end (failing the test if it takes longer than `within`).
RunResult run_to_end(std::vector<std::string> argv, std::vector<std::string> env = {},
                     std::chrono::milliseconds within = 20s);

}  // namespace coordctl_test
