// ChildProcess: a program a test or benchmark runs: fork + exec, a pidfd for
// deadline-bound waits, PR_SET_PDEATHSIG so a dead parent leaves no orphan,
// output to a log, a pipe or collected lines, and its exit status once reaped.
// Thread rule: start, wait for and stop it on the thread that started it.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coordd::support {

using namespace std::chrono_literals;

enum class Input {
  kNull,     // /dev/null
  kInherit,  // ours
  kPipe,     // a pipe whose write end is stdin_fd()
};

enum class Output {
  kInherit,  // ours
  kNull,     // /dev/null
  kLog,      // ChildOptions::log, one file shared by every stream sent there
  kPipe,     // a pipe whose read end is stdout_fd() / stderr_fd(), read by the caller
  kCollect,  // a pipe this object reads: lines(), stdout_text(), stderr_text()
};

struct ChildOptions {
  // Changes to our environment: "NAME=value" sets NAME (replacing ours), a
  // bare "NAME" removes it. Applied in order.
  std::vector<std::string> env;
  Input stdin_from = Input::kNull;
  Output stdout_to = Output::kInherit;
  Output stderr_to = Output::kInherit;
  std::filesystem::path log;  // for kLog: created or truncated, mode 0600
  // In a process group of its own: send_signal() and stop() reach the group.
  bool own_process_group = false;
  // What it gets when the thread that started it dies (0: nothing).
  int death_signal = SIGTERM;
  // What the destructor allows between SIGTERM and SIGKILL (0: SIGKILL at once).
  std::chrono::milliseconds stop_grace = 5s;
};

struct ExitStatus {
  bool exited = false;   // it exited; false: `signal` killed it
  int code = -1;         // its exit status, when it exited
  int signal = 0;        // the signal that killed it
  long max_rss_kib = 0;  // its peak resident memory (ru_maxrss)
  std::chrono::steady_clock::time_point reaped_at;

  // As a shell reports it: the exit status, or 128 + the signal.
  int shell_code() const;
};

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts argv (argv[0] a path, or a name looked up in $PATH). Throws
  // std::runtime_error when there is no such program or a pipe, the log,
  // fork or pidfd_open fails.
  explicit ChildProcess(std::vector<std::string> argv, ChildOptions options = {});
  // stop(options.stop_grace).
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& program() const { return program_; }       // argv[0], resolved
  Clock::time_point started_at() const { return started_at_; }  // just before fork
  int exit_fd() const { return pidfd_; }  // readable once it has exited (for poll)
  int stdin_fd() const { return in_fd_; }
  int stdout_fd() const { return options_.stdout_to == Output::kPipe ? out_fd_ : -1; }
  int stderr_fd() const { return options_.stderr_to == Output::kPipe ? err_fd_ : -1; }
  void close_stdin();

  // kill(2) to it (to its group with own_process_group); false, with errno
  // set, when that fails or it has been reaped already.
  bool send_signal(int signal);
  // Waits until it exits and reaps it, reading collected output to its end
  // first; nullopt if it still runs at the deadline. wait(0ms) only looks.
  std::optional<ExitStatus> wait(std::chrono::milliseconds within);
  std::optional<ExitStatus> wait_until(Clock::time_point deadline);
  // How it ended, once reaped; never waits.
  const std::optional<ExitStatus>& exit_status() const { return exit_; }
  // SIGTERM, SIGKILL after `grace` (at once when 0), then reaps. Idempotent.
  ExitStatus stop(std::chrono::milliseconds grace);

  // kCollect output. Reads until `done()` holds, the collected pipes close or
  // `within` passes; returns done()'s last value.
  bool read_until(const std::function<bool()>& done, std::chrono::milliseconds within);
  // Shorthands: until stdout has `count` complete lines / stderr holds `text`.
  bool read_lines(std::size_t count, std::chrono::milliseconds within);
  bool read_stderr_until(std::string_view text, std::chrono::milliseconds within);
  // Complete stdout lines so far (without '\n'), and all of stderr so far.
  const std::vector<std::string>& lines() const { return lines_; }
  std::string stdout_text() const;
  const std::string& stderr_text() const { return stderr_; }

 private:
  void start(std::vector<std::string>& argv);
  ExitStatus reap();
  bool collecting() const;
  // Reads whatever collected output comes before `deadline`; false once it passed.
  bool pump(Clock::time_point deadline);
  void read_some(int& fd);

  ChildOptions options_;
  std::string program_;
  pid_t pid_ = -1;
  pid_t kill_target_ = -1;  // pid_, or -pid_ for its group
  int pidfd_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  Clock::time_point started_at_;
  std::optional<ExitStatus> exit_;
  std::string partial_;
  std::vector<std::string> lines_;
  std::string stderr_;
};

// The path of `program`: itself when it holds a '/', else the first match in
// $PATH; "" when that is no executable.
std::string find_program(const std::string& program);

// Our environment with `changes` applied, as ChildOptions::env describes.
std::vector<std::string> environment_with(const std::vector<std::string>& changes);

}  // namespace coordd::support
