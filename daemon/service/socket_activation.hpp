// Listening sockets handed over by a service manager: systemd's
// LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES (sd_listen_fds(3)), or launchd's
// launch_activate_socket("Listeners") on macOS. Called once, at start-up,
// before any thread exists.
#pragma once

#include <string>
#include <vector>

namespace coordd {

struct ActivatedSockets {
  std::vector<int> fds;            // listening Unix stream sockets, FD_CLOEXEC set
  std::vector<std::string> names;  // LISTEN_FDNAMES, when given
  std::string error;               // set when the manager passed something unusable
};

// Empty (no fds, no error) when the process was not socket-activated. The
// systemd variables are unset either way, so children do not inherit them.
ActivatedSockets take_activated_sockets();

}  // namespace coordd
