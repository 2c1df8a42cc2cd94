// `coordctl reserve ADDRESS...`: writes a reservation record into the
// repository as `muse coord reserve` does, after warning (on stderr) about
// every active reservation of another holder on one of the same addresses —
// the whole swarm's, as coordd sees it, or this disk's when no coordd
// answers. With --exclusive a held address refuses instead. Prints the new
// id, or the record with --json. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "client/reservation_view.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

struct ReserveArgs {
  std::vector<std::string> addresses;
  double ttl = 3600.0;  // seconds until expires_at (--ttl)
  std::optional<std::string> run_id;
  std::string branch = "main";
  std::optional<std::string> operation;  // --op
  bool exclusive = false;
  bool json = false;
  std::optional<std::string> root;
  std::string socket;
  double timeout = 10.0;  // seconds per reply from coordd (--timeout)
};

CLI::App* add_reserve_command(CLI::App& app, ReserveArgs& args);

// Returns the exit status (record_writer.hpp's k...Exit).
int run_reserve(const ReserveArgs& args);

// The warning that `holder` holds `address`: "⚠️  a.py::f is already held by
// agent-2 (reservation r-1, host laptop-2, 9m59s left)"; the host only when
// it is another, the time only when the lease has an expiry.
std::string held_warning(const std::string& address, const KnownReservation& holder, WallTime now);

// The run_id a reservation gets without --run-id: "<user>-<host>" (not user@host, which
// run_id@branch would make ambiguous).
std::string default_run_id();

}  // namespace coordd
