// ReservationView: the reservations of one repository and whether each is
// active, as coordd sees them — the whole swarm's when it is clustered — or,
// when no coordd answers for the repository, as its files say (local only).
// What `coordctl reserve` checks for conflicts and `heartbeat` and `release`
// look their reservation up in. Blocking; main thread.
#pragma once

#include <boost/json/array.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proto/status.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

struct KnownReservation {
  std::string reservation_id;  // the lease's identity: reservation_id, or the file id
  std::string record_id;       // the file id
  std::string origin;          // the host it was read from; "" outside a swarm
  bool local = true;           // read from this host's disk (so renewable here)
  std::string run_id;
  std::string branch;
  std::vector<std::string> addresses;
  bool active = false;
  std::optional<WallTime> effective_expiry;
  std::string released_by;  // the id of a release of its host naming it, or ""
};

struct ReservationView {
  std::vector<KnownReservation> reservations;  // ascending seq
  // True when read from the files, not from coordd; `why` then says why
  // coordd was not asked (nothing answers at the socket, it does not watch
  // the repository).
  bool local_only = false;
  std::string why;
};

// Asks coordd at `socket` for `root`'s reservations and releases, waiting at
// most `timeout` per reply; reads them from the files (with coordd's own
// engine) when no coordd answers or the one answering does not watch `root`.
// Fails when coordd answers but its reply is an error, or the files cannot
// be read (a symlinked coordination directory).
Result<ReservationView> read_reservation_view(const std::string& root, const std::string& socket,
                                              std::chrono::milliseconds timeout);

// The view the records of a `list` reply give (of kinds reservation and
// release). A record is this host's when it has no origin (no swarm) or its
// origin is in `local_origins` (those of the reply to a list with origin
// "local"). Pure.
ReservationView view_of_listed(const boost::json::array& records,
                               const std::set<std::string>& local_origins);

// The reservation `reservation_id` names among this host's own (a heartbeat
// or release written here acts on those only: leases are per host). Fails
// with "unknown_reservation" when there is none (saying so when another
// host holds one of that id) and "released" when a release names it.
Result<KnownReservation> own_reservation(const ReservationView& view,
                                         const std::string& reservation_id);

}  // namespace coordd
