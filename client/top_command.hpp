// `coordctl top`: a live view of coordd for people: agents (connected or
// away, with their waiting messages), active leases by agent with the time
// left, the latest events and messages, and their rates. Redraws in place
// on change and at least every second, follows terminal resizes, survives
// coordd restarts (it says so and reconnects); q or Ctrl-C quits. When
// stdout is not a terminal it prints one snapshot and exits; with --json,
// one snapshot as a JSON line (client/top_json.hpp). Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace coordd {

struct TopArgs {
  std::string socket;
  double timeout = 10.0;  // seconds per reply (--timeout)
  bool json = false;      // one snapshot as JSON (--json)
};

CLI::App* add_top_command(CLI::App& app, TopArgs& args);
int run_top(const TopArgs& args);

}  // namespace coordd
