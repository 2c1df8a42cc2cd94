// `coordctl ping`: whether a coordd answers on the socket, with its version,
// epoch and round-trip time. Exit 0 on a pong, 1 otherwise. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace coordd {

struct PingArgs {
  std::string socket;
  double timeout = 10.0;  // seconds per reply (--timeout)
};

CLI::App* add_ping_command(CLI::App& app, PingArgs& args);
int run_ping(const PingArgs& args);

}  // namespace coordd
