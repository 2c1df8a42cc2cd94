#include "client/reserve_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <utility>

#include "client/daemon_connection.hpp"
#include "client/record_table.hpp"
#include "client/record_writer.hpp"
#include "client/repo_root.hpp"
#include "client/reservation_view.hpp"
#include "proto/display.hpp"
#include "proto/muse_records.hpp"
#include "proto/socket_path.hpp"

namespace coordd {
namespace {

WallTime now_utc() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace

std::string held_warning(const std::string& address, const KnownReservation& holder, WallTime now) {
  std::string text = "⚠️  " + address + " is already held by " +
                     (holder.run_id.empty() ? "an unnamed run" : holder.run_id) + " (reservation " +
                     holder.reservation_id;
  if (!holder.local && !holder.origin.empty()) text += ", host " + holder.origin;
  if (holder.effective_expiry) {
    text += ", " + format_time_left(*holder.effective_expiry - now) + " left";
  }
  return text + ")";
}

std::string default_run_id() {
  const char* user = std::getenv("USER");
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(user && *user ? user : "agent") + "-" + (host[0] ? host : "localhost");
}

CLI::App* add_reserve_command(CLI::App& app, ReserveArgs& args) {
  CLI::App* sub = app.add_subcommand(
      "reserve", "Reserve addresses (write a reservation record), warning when one is held.");
  sub->footer(
      "Writes <root>/.muse/coordination/reservations/<id>.json as `muse coord reserve` does and\n"
      "prints the new reservation id (--json: the record). Before writing, asks coordd for the\n"
      "active reservations of the whole swarm (or, with no coordd for the repository, reads the\n"
      "files: the view is then local only) and warns on stderr about each address another\n"
      "reservation holds; the record is still written unless --exclusive is given.\n\n"
      "Examples:\n"
      "  coordctl reserve src/billing.py::compute_total --run-id agent-42 --ttl 600\n"
      "  coordctl reserve a.py::f b.py::g --op rename --branch feature/x --json\n"
      "  id=$(coordctl reserve --exclusive a.py::f) || echo 'held by another agent'\n\n"
      "Exit status: 0 written; 1 coordd's reply was an error or the record could not be\n"
      "written (a symlinked coordination directory is refused); 2 bad arguments or no Muse\n"
      "repository; 3 --exclusive and an address is held (nothing written).\n\n"
      "Record layout (what is not known of Muse's is assumed, see proto/muse_records.hpp):\n"
      "  {schema_version: 1, reservation_id, run_id, branch, addresses, created_at, expires_at,\n"
      "  operation (null without --op)}; reservation_id is the SHA-256 hex of the record without\n"
      "  it, as json.dumps(sort_keys=True, separators=(',', ':')); times are isoformat() UTC;\n"
      "  the file is json.dumps(indent=2), written to a dot-named temp file and renamed.\n"
      "  Without --run-id: USER-hostname.");
  sub->add_option("address", args.addresses, "Addresses to reserve (e.g. src/a.py::func).")
      ->required()
      ->type_name("ADDRESS");
  sub->add_option("--ttl", args.ttl, "Seconds until the reservation expires (default 3600).")
      ->check(CLI::Range(1.0, 10.0 * 365 * 86400))
      ->type_name("S");
  sub->add_option_function<std::string>(
         "--run-id", [&args](const std::string& v) { args.run_id = v; },
         "The run (agent) holding it. Default: USER-hostname.")
      ->type_name("ID");
  sub->add_option("-b,--branch", args.branch, "The branch it is on (default main).")
      ->type_name("B");
  sub->add_option_function<std::string>(
         "--op", [&args](const std::string& v) { args.operation = v; },
         "The operation planned (rename, extract, ...).")
      ->type_name("OP");
  sub->add_flag("--exclusive", args.exclusive,
                "Refuse (exit 3, nothing written) when an address is held by another active "
                "reservation.");
  add_writer_options(sub, args.json, args.root, args.socket, args.timeout);
  return sub;
}

int run_reserve(const ReserveArgs& args) {
  std::string run_id = args.run_id.value_or(default_run_id());
  if (run_id.empty()) return fail_with(kUsageExit, "--run-id must not be empty");
  for (const std::string& address : args.addresses) {
    if (address.empty()) return fail_with(kUsageExit, "an address must not be empty");
  }
  ResolvedRoot root = resolve_root(args.root);
  if (root.not_found) {
    std::fprintf(stderr, "%s\n", kNotAMuseRepository);
    return kRepoNotFoundExit;
  }
  if (!root.error.empty()) return fail_with(kWriteFailedExit, root.error);
  std::string socket = args.socket.empty() ? default_socket_path() : args.socket;

  Result<ReservationView> view =
      read_reservation_view(root.path, socket, reply_timeout(args.timeout));
  if (!view.ok()) return fail_with(kWriteFailedExit, view.status().message());
  if (view->local_only) {
    std::fprintf(stderr, "note: %s; checked this disk's reservations only (local view)\n",
                 strip_control(view->why).c_str());
  }

  WallTime now = now_utc();
  bool held = false;
  for (const std::string& address : args.addresses) {
    // Several files may define one lease: name each holder once per address.
    std::set<std::pair<std::string, std::string>> named;
    for (const KnownReservation& holder : view->reservations) {
      bool holds = holder.active && std::find(holder.addresses.begin(), holder.addresses.end(),
                                              address) != holder.addresses.end();
      if (!holds || !named.emplace(holder.origin, holder.reservation_id).second) continue;
      held = true;
      std::fprintf(stderr, "%s\n", strip_control(held_warning(address, holder, now)).c_str());
    }
  }
  if (held && args.exclusive) {
    return fail_with(kAddressHeldExit, "--exclusive: not reserving, an address is held");
  }

  ReservationFields fields;
  fields.run_id = run_id;
  fields.branch = args.branch;
  fields.addresses = args.addresses;
  fields.operation = args.operation;
  fields.created_at = now;
  fields.expires_at = now + std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::duration<double>(args.ttl));
  MuseRecord record = reservation_record(fields);
  if (Result<std::string> written = write_record(root.path, record); !written.ok()) {
    return fail_with(kWriteFailedExit, written.status().message());
  }
  print_written(record, args.json);
  return kWrittenExit;
}

}  // namespace coordd
