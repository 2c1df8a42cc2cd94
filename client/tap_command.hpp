// `coordctl tap`: streams agent messages for people or scripts, as a tap
// subscription (PROTOCOL.md, "Taps"): broadcasts, or with --all every
// message, optionally only those from or to --agent. It resumes with `since`
// across a lost connection (a coordd restart included: then it says that the
// messages between are not known), and answers a `lagged` marker by
// subscribing again from before the gap, so it shows every message the
// journal still holds. Runs until SIGINT/SIGTERM (exit 0) or --count
// messages; 1 when coordd cannot be reached at start, 2 for a bad command
// line. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <string>
#include <vector>

namespace coordd {

struct TapArgs {
  bool all = false;
  std::vector<std::string> agents;
  bool json = false;
  std::size_t count = 0;  // 0: until stopped
  std::string socket;
  double timeout = 10.0;
};

CLI::App* add_tap_command(CLI::App& app, TapArgs& args);
int run_tap(const TapArgs& args);

}  // namespace coordd
