// Where coordd listens by default, shared by the daemon and its clients.
#pragma once

#include <string>

namespace coordd {

// $COORDD_SOCKET if set, else $XDG_RUNTIME_DIR/coordd/coordd.sock, else
// /tmp/coordd-<uid>/coordd.sock.
std::string default_socket_path();

}  // namespace coordd
