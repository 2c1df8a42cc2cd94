// `coordctl release RESERVATION_ID [--reason R]`: writes a release record
// (as `muse coord release` does) ending one of this host's reservations.
// Refuses a reservation coordd (or, with none, the files) does not know
// here, or one already released. Prints the release's id, or the record with
// --json. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace coordd {

struct ReleaseArgs {
  std::string reservation_id;
  std::string reason = "completed";
  std::optional<std::string> run_id;  // default: the reservation's
  bool json = false;
  std::optional<std::string> root;
  std::string socket;
  double timeout = 10.0;  // seconds per reply from coordd (--timeout)
};

CLI::App* add_release_command(CLI::App& app, ReleaseArgs& args);

// Returns the exit status (record_writer.hpp's k...Exit).
int run_release(const ReleaseArgs& args);

}  // namespace coordd
