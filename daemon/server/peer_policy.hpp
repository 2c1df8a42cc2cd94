// Who may use the socket. The peer's credentials come from the kernel
// (SO_PEERCRED on Linux, getpeereid on BSD/macOS) at accept: our own uid and
// root get full access; uids and gids listed with --allow-uid/--allow-gid
// get read-only access (subscribe, list, status, ping, sync), or full access
// with --allow-write; everyone else is refused. Pure logic plus one
// getsockopt; any thread.
#pragma once

#include <sys/types.h>

#include <set>
#include <string_view>
#include <vector>

namespace coordd {

enum class Access { kForbidden, kReadOnly, kFull };

struct PeerCredentials {
  bool known = false;  // false when the kernel would not say
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, where the kernel says (SO_PEERGROUPS)
};

PeerCredentials peer_credentials(int socket_fd);

struct PeerPolicy {
  std::set<uid_t> allow_uids;
  std::set<gid_t> allow_gids;
  bool allow_write = false;

  // `self` is the daemon's effective uid.
  Access decide(const PeerCredentials& peer, uid_t self) const;
};

}  // namespace coordd
