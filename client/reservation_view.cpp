#include "client/reservation_view.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <exception>
#include <set>
#include <utility>

#include "client/daemon_connection.hpp"
#include "client/exact_json.hpp"
#include "daemon/engine/event_filter.hpp"
#include "daemon/watch/monitor.hpp"
#include "proto/kind.hpp"

namespace coordd {
namespace json = boost::json;
namespace {

// One record of a list reply, or of the standalone engine, in one shape.
struct SeenRecord {
  Kind kind = Kind::kReservation;
  std::string id;
  std::string origin;
  bool local = true;
  json::object data;
  bool active = false;
  std::optional<WallTime> effective_expiry;
};

std::string string_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

ReservationView build_view(const std::vector<SeenRecord>& records) {
  ReservationView view;
  for (const SeenRecord& record : records) {
    if (record.kind != Kind::kReservation) continue;
    KnownReservation known;
    known.record_id = record.id;
    known.reservation_id = string_field(record.data, "reservation_id");
    if (known.reservation_id.empty()) known.reservation_id = record.id;
    known.origin = record.origin;
    known.local = record.local;
    known.run_id = string_field(record.data, "run_id");
    known.branch = string_field(record.data, "branch");
    if (const json::value* addresses = record.data.if_contains("addresses");
        addresses && addresses->is_array()) {
      for (const json::value& address : addresses->get_array()) {
        if (address.is_string()) known.addresses.emplace_back(address.get_string());
      }
    }
    known.active = record.active;
    known.effective_expiry = record.effective_expiry;
    view.reservations.push_back(std::move(known));
  }
  // Leases are per host: a release ends the reservations of its own host.
  for (const SeenRecord& record : records) {
    if (record.kind != Kind::kRelease) continue;
    std::string named = string_field(record.data, "reservation_id");
    for (KnownReservation& known : view.reservations) {
      if (known.reservation_id == named && known.origin == record.origin &&
          known.released_by.empty()) {
        known.released_by = record.id;
      }
    }
  }
  return view;
}

// A list reply's records, or why there are none.
Result<json::array> ask_daemon(DaemonConnection& daemon, const std::string& root, bool local_only,
                               std::chrono::milliseconds timeout) {
  json::object request;
  request["op"] = "list";
  request["kinds"] = json::array{"reservation", "release"};
  request["root"] = root;
  if (local_only) request["origin"] = "local";
  json::object reply;
  if (std::string error = call_daemon(daemon.client, std::move(request), reply, timeout);
      !error.empty()) {
    return Status::error("list_failed", "coordd's list failed: " + error);
  }
  json::value* records = reply.if_contains("records");
  if (!records || !records->is_array()) return json::array();
  return std::move(records->get_array());
}

// In a swarm every record carries its origin, this host's own too; which
// origin is this host's is what a second list, of local records only, says.
Result<ReservationView> view_from_daemon(DaemonConnection& daemon, const std::string& root,
                                         std::chrono::milliseconds timeout) {
  Result<json::array> all = ask_daemon(daemon, root, false, timeout);
  if (!all.ok()) return all.status();
  bool clustered = false;
  for (const json::value& record : *all) {
    clustered = clustered || (record.is_object() && record.get_object().contains("origin"));
  }
  std::set<std::string> local_origins;
  if (clustered) {
    Result<json::array> local = ask_daemon(daemon, root, true, timeout);
    if (!local.ok()) return local.status();
    for (const json::value& record : *local) {
      if (record.is_object()) local_origins.insert(string_field(record.get_object(), "origin"));
    }
  }
  return view_of_listed(*all, local_origins);
}

// The files, read by coordd's own engine (one synchronous scan), so leases
// are computed exactly as coordd computes them.
Result<ReservationView> view_from_files(const std::string& root) {
  boost::asio::io_context io;
  Monitor monitor(io, MonitorOptions{});
  try {
    monitor.start({root});
  } catch (const std::exception& e) {
    return Status::error("unreadable", e.what());
  }
  const Engine& engine = monitor.engine();
  EventFilter filter;
  filter.kinds.add(Kind::kReservation);
  filter.kinds.add(Kind::kRelease);
  filter.root = engine.find_root(root);
  std::vector<SeenRecord> records;
  for (const auto& [ref, record] : engine.matching(filter, false)) {
    boost::system::error_code ec;
    json::value data = parse_exact_json(record->data_json(), ec);
    if (ec || !data.is_object()) continue;
    SeenRecord seen;
    seen.kind = ref.kind;
    seen.id = ref.id;
    seen.data = std::move(data.get_object());
    if (auto lease = engine.leases().state_of(ref)) {
      seen.active = lease->active;
      seen.effective_expiry = lease->effective_expiry;
    }
    records.push_back(std::move(seen));
  }
  monitor.stop();
  return build_view(records);
}

}  // namespace

ReservationView view_of_listed(const json::array& records,
                               const std::set<std::string>& local_origins) {
  std::vector<SeenRecord> seen_records;
  for (const json::value& value : records) {
    if (!value.is_object()) continue;
    const json::object& record = value.get_object();
    std::optional<Kind> kind = parse_kind(string_field(record, "kind"));
    const json::value* data = record.if_contains("data");
    if (!kind || !data || !data->is_object()) continue;
    SeenRecord seen;
    seen.kind = *kind;
    seen.id = string_field(record, "id");
    seen.origin = string_field(record, "origin");
    seen.local = seen.origin.empty() || local_origins.count(seen.origin) > 0;
    seen.data = data->get_object();
    if (const json::value* active = record.if_contains("active"); active && active->is_bool()) {
      seen.active = active->get_bool();
      seen.effective_expiry = parse_timestamp(string_field(record, "effective_expires_at"));
    }
    seen_records.push_back(std::move(seen));
  }
  return build_view(seen_records);
}

Result<ReservationView> read_reservation_view(const std::string& root, const std::string& socket,
                                              std::chrono::milliseconds timeout) {
  DaemonConnection daemon = connect_daemon(socket, timeout);
  std::string why;
  if (!daemon.ok()) {
    why = "no coordd answers at " + socket + " (" + daemon.error + ")";
  } else if (!daemon.watches_root(root)) {
    why = "coordd at " + socket + " does not watch " + root;
  } else {
    return view_from_daemon(daemon, root, timeout);
  }
  Result<ReservationView> view = view_from_files(root);
  if (view.ok()) {
    view->local_only = true;
    view->why = std::move(why);
  }
  return view;
}

Result<KnownReservation> own_reservation(const ReservationView& view,
                                         const std::string& reservation_id) {
  const KnownReservation* remote = nullptr;
  const KnownReservation* released = nullptr;
  for (const KnownReservation& known : view.reservations) {
    if (known.reservation_id != reservation_id) continue;
    if (!known.local) {
      remote = &known;
    } else if (!known.released_by.empty()) {
      released = &known;
    } else {
      return known;
    }
  }
  if (released) {
    return Status::error("released", "reservation " + reservation_id + " was released (release " +
                                         released->released_by + "); reserve again instead");
  }
  if (remote) {
    return Status::error("unknown_reservation",
                         "reservation " + reservation_id + " was taken on host " + remote->origin +
                             ", not this one: leases are renewed and released where they were "
                             "taken, so write it there");
  }
  return Status::error("unknown_reservation",
                       "no reservation " + reservation_id + " is known to " +
                           (view.local_only ? "this repository's files (local view)" : "coordd") +
                           "; `coordctl list --kind reservation` shows those there are");
}

}  // namespace coordd
