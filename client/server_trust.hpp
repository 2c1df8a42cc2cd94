// Whom a client accepts as its coordd. A socket path is only a name: another
// user who can create it first (a squatted /tmp directory) could pose as the
// daemon and feed forged records to every agent. So before trusting a
// connection the client checks that the socket's directory is owned by a
// trusted uid and writable by nobody else, and that the process at the other
// end (SO_PEERCRED) runs as a trusted uid. Trusted: the user, root, and the
// uid named by $COORDD_SERVER_UID (for a system-wide coordd running as its
// own user). Pure checks over the OS; any thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace coordd {

// The user, root, and $COORDD_SERVER_UID (a number or a user name) when set.
// An unknown name is ignored (and named by the refusal that follows).
std::vector<uid_t> trusted_server_uids();

// "" or why the directory holding `socket_path` cannot be trusted.
std::string check_socket_directory(const std::string& socket_path,
                                   const std::vector<uid_t>& trusted);

// "" or why the peer of the connected socket `fd` cannot be trusted.
std::string check_server_peer(int fd, const std::vector<uid_t>& trusted);

}  // namespace coordd
