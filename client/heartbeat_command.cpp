#include "client/heartbeat_command.hpp"

#include <chrono>

#include "client/daemon_connection.hpp"
#include "client/own_reservation.hpp"
#include "client/record_writer.hpp"
#include "proto/muse_records.hpp"

namespace coordd {

CLI::App* add_heartbeat_command(CLI::App& app, HeartbeatArgs& args) {
  CLI::App* sub = app.add_subcommand(
      "heartbeat", "Extend one of this host's reservations (write a heartbeat record).");
  sub->footer(
      "Writes <root>/.muse/coordination/heartbeats/<id>.json as `muse coord heartbeat` does, with\n"
      "extended_expires_at = now + --extend seconds, and prints the heartbeat's id (--json: the\n"
      "record). The reservation's effective expiry becomes the latest of its expires_at and its\n"
      "heartbeats'. The reservation must be known to coordd (or, with no coordd for the\n"
      "repository, to its files) as one of this host's and not released.\n\n"
      "Examples:\n"
      "  coordctl heartbeat 0e340ddeb4b9f4d2423db35c63db0f07382bcdc1686e01b7e63bd138eab660be "
      "--extend 600\n"
      "  coordctl heartbeat \"$id\" --extend 300 --json\n\n"
      "Exit status: 0 written; 1 coordd's reply was an error or the record could not be\n"
      "written; 2 bad arguments or no Muse repository; 4 no such reservation here (or it was\n"
      "taken on another host); 5 it was released (nothing written).\n\n"
      "Record layout (assumed where Muse's is not known, see proto/muse_records.hpp):\n"
      "  {schema_version: 1, heartbeat_id, reservation_id, run_id, created_at,\n"
      "  extended_expires_at}; heartbeat_id is the SHA-256 hex of the record without it.\n"
      "  Without --run-id: the reservation's run_id.");
  sub->add_option("reservation_id", args.reservation_id, "The reservation to extend.")
      ->required()
      ->type_name("RESERVATION_ID");
  sub->add_option("--extend", args.extend, "Seconds from now it is to last.")
      ->required()
      ->check(CLI::Range(1.0, 10.0 * 365 * 86400))
      ->type_name("S");
  sub->add_option_function<std::string>(
         "--run-id", [&args](const std::string& v) { args.run_id = v; },
         "The run writing it. Default: the reservation's run_id.")
      ->type_name("ID");
  add_writer_options(sub, args.json, args.root, args.socket, args.timeout);
  return sub;
}

int run_heartbeat(const HeartbeatArgs& args) {
  Result<OwnReservation> own = find_own_reservation(
      args.root, args.socket, reply_timeout(args.timeout), args.reservation_id);
  if (!own.ok()) return report_lookup_failure(own.status());
  WallTime now =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  HeartbeatFields fields;
  fields.reservation_id = own->reservation.reservation_id;
  fields.run_id = args.run_id.value_or(own->reservation.run_id);
  fields.created_at = now;
  fields.extended_expires_at = now + std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::duration<double>(args.extend));
  MuseRecord record = heartbeat_record(fields);
  if (Result<std::string> written = write_record(own->root, record); !written.ok()) {
    return fail_with(kWriteFailedExit, written.status().message());
  }
  print_written(record, args.json);
  return kWrittenExit;
}

}  // namespace coordd
