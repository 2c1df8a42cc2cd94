// `coordctl list`: the current records of a repository as coordd holds them,
// as a table or (--json) as the list reply's records array. Needs a daemon
// that watches the repository. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace coordd {

struct ListArgs {
  std::optional<std::string> kind;
  bool active = false;
  std::optional<std::string> run_id;
  std::optional<std::string> branch;
  bool json = false;
  std::optional<std::string> root;
  std::string socket;
  double timeout = 10.0;  // seconds per reply (--timeout)
};

CLI::App* add_list_command(CLI::App& app, ListArgs& args);

// Returns the exit code: 0, or 1 with a message on stderr.
int run_list(const ListArgs& args);

}  // namespace coordd
