#include "client/release_command.hpp"

#include <chrono>

#include "client/daemon_connection.hpp"
#include "client/own_reservation.hpp"
#include "client/record_writer.hpp"
#include "proto/muse_records.hpp"

namespace coordd {

CLI::App* add_release_command(CLI::App& app, ReleaseArgs& args) {
  CLI::App* sub = app.add_subcommand(
      "release", "End one of this host's reservations (write a release record).");
  sub->footer(
      "Writes <root>/.muse/coordination/releases/<id>.json as `muse coord release` does and\n"
      "prints the release's id (--json: the record). coordd then reports the reservation\n"
      "`expired` with cause `released`. The reservation must be known to coordd (or, with no\n"
      "coordd for the repository, to its files) as one of this host's and not released yet.\n\n"
      "Examples:\n"
      "  coordctl release \"$id\"\n"
      "  coordctl release \"$id\" --reason abandoned --json\n\n"
      "Exit status: 0 written; 1 coordd's reply was an error or the record could not be\n"
      "written; 2 bad arguments or no Muse repository; 4 no such reservation here (or it was\n"
      "taken on another host); 5 it was released already (nothing written).\n\n"
      "Record layout (assumed where Muse's is not known, see proto/muse_records.hpp):\n"
      "  {schema_version: 1, release_id, reservation_id, run_id, reason, created_at};\n"
      "  release_id is the SHA-256 hex of the record without it. Without --run-id: the\n"
      "  reservation's run_id.");
  sub->add_option("reservation_id", args.reservation_id, "The reservation to end.")
      ->required()
      ->type_name("RESERVATION_ID");
  sub->add_option("--reason", args.reason, "Why it ends (default completed).")->type_name("R");
  sub->add_option_function<std::string>(
         "--run-id", [&args](const std::string& v) { args.run_id = v; },
         "The run writing it. Default: the reservation's run_id.")
      ->type_name("ID");
  add_writer_options(sub, args.json, args.root, args.socket, args.timeout);
  return sub;
}

int run_release(const ReleaseArgs& args) {
  Result<OwnReservation> own = find_own_reservation(
      args.root, args.socket, reply_timeout(args.timeout), args.reservation_id);
  if (!own.ok()) return report_lookup_failure(own.status());
  ReleaseFields fields;
  fields.reservation_id = own->reservation.reservation_id;
  fields.run_id = args.run_id.value_or(own->reservation.run_id);
  fields.reason = args.reason;
  fields.created_at =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  MuseRecord record = release_record(fields);
  if (Result<std::string> written = write_record(own->root, record); !written.ok()) {
    return fail_with(kWriteFailedExit, written.status().message());
  }
  print_written(record, args.json);
  return kWrittenExit;
}

}  // namespace coordd
