#include "client/own_reservation.hpp"

#include <cstdio>

#include "client/record_writer.hpp"
#include "client/repo_root.hpp"
#include "proto/display.hpp"
#include "proto/socket_path.hpp"

namespace coordd {

Result<OwnReservation> find_own_reservation(const std::optional<std::string>& root_flag,
                                            const std::string& socket,
                                            std::chrono::milliseconds timeout,
                                            const std::string& reservation_id) {
  ResolvedRoot root = resolve_root(root_flag);
  if (root.not_found) return Status::error("not_a_repository", kNotAMuseRepository);
  if (!root.error.empty()) return Status::error("bad_root", root.error);
  Result<ReservationView> view =
      read_reservation_view(root.path, socket.empty() ? default_socket_path() : socket, timeout);
  if (!view.ok()) return view.status();
  if (view->local_only) {
    std::fprintf(stderr, "note: %s; looked %s up in this disk's files (local view)\n",
                 strip_control(view->why).c_str(), strip_control(reservation_id).c_str());
  }
  Result<KnownReservation> own = own_reservation(*view, reservation_id);
  if (!own.ok()) return own.status();
  return OwnReservation{root.path, std::move(*own)};
}

int report_lookup_failure(const Status& status) {
  if (status.code() == "not_a_repository") {
    std::fprintf(stderr, "%s\n", kNotAMuseRepository);
    return kRepoNotFoundExit;
  }
  if (status.code() == "unknown_reservation") {
    return fail_with(kUnknownReservationExit, status.message());
  }
  if (status.code() == "released") return fail_with(kAlreadyReleasedExit, status.message());
  return fail_with(kWriteFailedExit, status.message());
}

}  // namespace coordd
