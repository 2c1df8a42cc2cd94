// `coordctl heartbeat RESERVATION_ID --extend S`: writes a heartbeat record
// (as `muse coord heartbeat` does) extending one of this host's reservations
// to now + S. Refuses a reservation coordd (or, with none, the files) does
// not know here, or one that was released. Prints the heartbeat's id, or the
// record with --json. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace coordd {

struct HeartbeatArgs {
  std::string reservation_id;
  double extend = 0.0;                // seconds from now (--extend)
  std::optional<std::string> run_id;  // default: the reservation's
  bool json = false;
  std::optional<std::string> root;
  std::string socket;
  double timeout = 10.0;  // seconds per reply from coordd (--timeout)
};

CLI::App* add_heartbeat_command(CLI::App& app, HeartbeatArgs& args);

// Returns the exit status (record_writer.hpp's k...Exit).
int run_heartbeat(const HeartbeatArgs& args);

}  // namespace coordd
