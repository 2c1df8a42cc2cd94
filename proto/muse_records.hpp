// The coordination records coordctl writes (reservations, heartbeats,
// releases), laid out as Muse's `muse coord` commands lay them out, so coordd,
// Muse and any agent read them as their own. Builds each record's JSON object
// (keys in Muse's order), its content-addressed id and the text of its file.
// Pure functions; safe from any thread.
//
// What is known of Muse's layout comes from its watch command and the records
// in tests/compat/cases; where it is not known, these are the assumptions,
// stated once here (and in `coordctl reserve --help`):
//  - Every record starts with "schema_version": 1, then its own id field
//    ("reservation_id", "heartbeat_id", "release_id"), as compat's recorded
//    reservations and the soak writer's records do.
//  - A reservation: schema_version, reservation_id, run_id, branch,
//    addresses, created_at, expires_at, operation (null when none).
//  - A heartbeat: schema_version, heartbeat_id, reservation_id, run_id,
//    created_at, extended_expires_at.
//  - A release: schema_version, release_id, reservation_id, run_id, reason,
//    created_at.
//  - The id is "content-addressed": the SHA-256 hex digest of the record
//    without its id field, dumped as Python's json.dumps(record,
//    sort_keys=True, separators=(",", ":")) would. created_at carries
//    microseconds, so two records written apart differ.
//  - Timestamps are datetime.isoformat() of an aware UTC time
//    ("2026-03-30T15:00:00.123456+00:00").
//  - The file is json.dumps(record, indent=2) (ensure_ascii, no final
//    newline) at <root>/.muse/coordination/<kind dir>/<id>.json.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "proto/kind.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

inline constexpr int kMuseRecordSchemaVersion = 1;

struct ReservationFields {
  std::string run_id;
  std::string branch;
  std::vector<std::string> addresses;
  std::optional<std::string> operation;  // null in the record when absent
  WallTime created_at;
  WallTime expires_at;
};

struct HeartbeatFields {
  std::string reservation_id;
  std::string run_id;
  WallTime created_at;
  WallTime extended_expires_at;
};

struct ReleaseFields {
  std::string reservation_id;
  std::string run_id;
  std::string reason;
  WallTime created_at;
};

// One record ready to be written: its kind, its id (also its file name
// without ".json") and its JSON object in Muse's key order.
struct MuseRecord {
  Kind kind = Kind::kReservation;
  std::string id;
  boost::json::object data;
};

MuseRecord reservation_record(const ReservationFields& fields);
MuseRecord heartbeat_record(const HeartbeatFields& fields);
MuseRecord release_record(const ReleaseFields& fields);

// The content-addressed id of `body` (a record without its id field).
std::string content_id(const boost::json::object& body);

// Python's json.dumps(value, indent=2): the text of a record's file. Holds
// the values records carry (null, bools, integers, strings, arrays, objects).
std::string muse_file_text(const boost::json::value& value);

}  // namespace coordd
