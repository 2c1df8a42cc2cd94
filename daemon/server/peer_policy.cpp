#include "daemon/server/peer_policy.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace coordd {

PeerCredentials peer_credentials(int socket_fd) {
  PeerCredentials peer;
#if defined(__linux__)
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    peer = PeerCredentials{true, cred.pid, cred.uid, cred.gid, {}};
  }
#ifdef SO_PEERGROUPS
  // Two tries: the first may only learn how many groups there are (ERANGE).
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    socklen_t bytes = socklen_t(groups.size() * sizeof(gid_t));
    if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &bytes) == 0) {
      groups.resize(bytes / sizeof(gid_t));
      peer.groups = std::move(groups);
      break;
    }
    if (errno != ERANGE) break;
    groups.resize(bytes / sizeof(gid_t));
  }
#endif
#else
  uid_t uid = 0;
  gid_t gid = 0;
  if (::getpeereid(socket_fd, &uid, &gid) == 0) peer = PeerCredentials{true, 0, uid, gid, {}};
#endif
  return peer;
}

Access PeerPolicy::decide(const PeerCredentials& peer, uid_t self) const {
  if (!peer.known) return Access::kForbidden;
  if (peer.uid == self || peer.uid == 0) return Access::kFull;
  bool in_group = allow_gids.contains(peer.gid);
  for (gid_t group : peer.groups) in_group = in_group || allow_gids.contains(group);
  if (allow_uids.contains(peer.uid) || in_group) {
    return allow_write ? Access::kFull : Access::kReadOnly;
  }
  return Access::kForbidden;
}

}  // namespace coordd
