// How the harness runs every program it starts (coordd and its peers), on
// tests/support's ChildProcess: stdin /dev/null, a process group of its own,
// SIGKILLed if the harness dies, SIGTERM then SIGKILL 3 s later when dropped.
// Main thread only: PR_SET_PDEATHSIG follows the thread that forked.
#pragma once

#include <signal.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/child_process.hpp"

namespace coordd::bench {

using support::ChildProcess;
using support::ExitStatus;

// stderr, and stdout unless `pipe_stdout` (then read from stdout_fd()), to
// the file `log` ("" for /dev/null); `env` as ChildOptions::env.
inline support::ChildOptions child_options(const std::string& log, bool pipe_stdout = false,
                                           std::vector<std::string> env = {}) {
  support::ChildOptions options;
  options.env = std::move(env);
  support::Output output = log.empty() ? support::Output::kNull : support::Output::kLog;
  options.stdout_to = pipe_stdout ? support::Output::kPipe : output;
  options.stderr_to = output;
  options.log = log;
  options.own_process_group = true;
  options.death_signal = SIGKILL;
  options.stop_grace = std::chrono::seconds(3);
  return options;
}

}  // namespace coordd::bench
