// SupervisedProcess: a child started the way a service manager starts one —
// an argv, an environment of the test's choosing (NOTIFY_SOCKET,
// WATCHDOG_USEC, JOURNAL_STREAM, ...), stdout and stderr to a log file — that
// the test can signal, wait for and read the log of: a support::ChildProcess
// with the words of these tests. The integration fixture's DaemonProcess
// cannot set the environment or send SIGHUP; this can. Every wait ends on an
// event or fails the test at its deadline.
// doctest's main thread only: a failure throws out of the current TEST_CASE.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/program_paths.hpp"

namespace coordd::integration {

// The variables a service manager sets. A child gets none of them from the
// test's own environment, only those a Launch names.
inline constexpr std::string_view kSupervisionVariables[] = {
    "NOTIFY_SOCKET", "WATCHDOG_USEC",  "WATCHDOG_PID",  "LISTEN_PID",
    "LISTEN_FDS",    "LISTEN_FDNAMES", "JOURNAL_STREAM"};

struct Launch {
  std::vector<std::string> argv;                         // argv[0] is a path
  std::vector<std::pair<std::string, std::string>> env;  // added to ours
  fs::path log;                                          // stdout and stderr
  // Sets JOURNAL_STREAM to "<st_dev>:<st_ino>" of the log file, as systemd
  // does when stderr is connected to the journal.
  bool journal_stream_is_log = false;
};

// $COORDD_BIN, which meson test points at the coordd just built.
using support::coordd_binary;

// Whether coordd_command gives ws.repo() with --root.
enum class WorkspaceRoot { kWatched, kNotGiven };

// COORDD_BIN with --root ws.repo() (unless kNotGiven) --socket ws.socket()
// --state-dir ws.state_dir(),
// then `extra_flags`. Creates the socket directory 0700 unless the test made
// it already.
std::vector<std::string> coordd_command(const Workspace& ws,
                                        std::vector<std::string> extra_flags = {},
                                        WorkspaceRoot root = WorkspaceRoot::kWatched);

class SupervisedProcess {
 public:
  // Forks and execs. Returns at once: nothing is known about readiness.
  // Dropping it sends SIGTERM, and SIGKILL 5 s later if it still runs.
  explicit SupervisedProcess(const Launch& launch);
  SupervisedProcess(const SupervisedProcess&) = delete;
  SupervisedProcess& operator=(const SupervisedProcess&) = delete;

  pid_t pid() const { return child_.pid(); }
  const fs::path& log_path() const { return log_; }
  std::string log() const;

  void send_signal(int signal);
  // Waits for the exit and returns its code (128 + signal when killed);
  // fails the test if it still runs after `timeout`.
  int wait_for_exit(std::chrono::milliseconds timeout = 5s);
  // SIGTERM, then wait_for_exit.
  int terminate();
  // True when it exited within `timeout` (reaped); false when it still runs.
  bool exits_within(std::chrono::milliseconds timeout);

  // Connects to `socket` and pings until coordd answers (10 s), failing the
  // test early, with the log, if the process exits meanwhile.
  void wait_until_serving(const fs::path& socket);
  // A client connection whose failures print this process's log.
  EventReader connect(const fs::path& socket) const;
  // Waits until the log contains `text` (the log has no change
  // notification, so this re-reads it, at most 10 ms apart, until the deadline).
  void wait_for_log(std::string_view text, std::chrono::milliseconds timeout = kLineTimeout) const;

 private:
  int exit_code() const { return child_.exit_status()->shell_code(); }

  fs::path log_;
  support::ChildProcess child_;
};

// Waits until the file at `path` contains `text`, re-reading it at most 10 ms
// apart (a log has no change notification); fails the test after `timeout`.
void wait_for_text(const fs::path& path, std::string_view text,
                   std::chrono::milliseconds timeout = kLineTimeout);
std::string read_text(const fs::path& path);

// The code of an error line, or "" when the line is not an error.
std::string error_code_of(const json::object& line);

// The whole log, split into lines.
std::vector<std::string> lines_of(const std::string& text);
bool mentions(const std::string& text, std::string_view words);

}  // namespace coordd::integration
