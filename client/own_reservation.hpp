// What heartbeat and release do before writing: find the repository, read
// its reservations (from coordd, or the files when none answers) and pick
// the one of this host that RESERVATION_ID names, printing a note when the
// view is local only. Main thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "client/reservation_view.hpp"
#include "proto/status.hpp"

namespace coordd {

struct OwnReservation {
  std::string root;  // the repository, absolute and canonical
  KnownReservation reservation;
};

// `root_flag` is --root if given; `socket` the socket path ("" for the
// default). Status codes: not_a_repository, unknown_reservation, released,
// or another (a failed read).
Result<OwnReservation> find_own_reservation(const std::optional<std::string>& root_flag,
                                            const std::string& socket,
                                            std::chrono::milliseconds timeout,
                                            const std::string& reservation_id);

// Prints why on stderr and returns the exit status for a failure of
// find_own_reservation (record_writer.hpp's statuses).
int report_lookup_failure(const Status& status);

}  // namespace coordd
