#include "client/server_trust.hpp"

#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace coordd {
namespace {

bool trusted_uid(uid_t uid, const std::vector<uid_t>& trusted) {
  return std::find(trusted.begin(), trusted.end(), uid) != trusted.end();
}

std::string hint(uid_t owner) {
  return " (if uid " + std::to_string(owner) +
         " runs your coordd, say so with COORDD_SERVER_UID=" + std::to_string(owner) + ")";
}

}  // namespace

std::vector<uid_t> trusted_server_uids() {
  std::vector<uid_t> out{::getuid(), 0};
  if (const char* named = std::getenv("COORDD_SERVER_UID"); named && *named) {
    char* end = nullptr;
    unsigned long number = std::strtoul(named, &end, 10);
    if (*end == '\0') {
      out.push_back(uid_t(number));
    } else if (const struct passwd* user = ::getpwnam(named)) {
      out.push_back(user->pw_uid);
    }
  }
  return out;
}

std::string check_socket_directory(const std::string& socket_path,
                                   const std::vector<uid_t>& trusted) {
  std::size_t slash = socket_path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "."
                    : slash == 0               ? "/"
                                               : socket_path.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return "";  // nothing listens there: not a trust question
    return "cannot inspect " + dir + ": " + std::strerror(errno);
  }
  if (!trusted_uid(st.st_uid, trusted)) {
    return "refusing the socket in " + dir + ": the directory belongs to uid " +
           std::to_string(st.st_uid) + ", not to you (uid " + std::to_string(::getuid()) +
           ") or root, so whoever answers there may not be your coordd" + hint(st.st_uid);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return "refusing the socket in " + dir +
           ": the directory is writable by other users, who could have put an impostor's "
           "socket there (chmod go-w it, or use the default socket path)";
  }
  return "";
}

std::string check_server_peer(int fd, const std::vector<uid_t>& trusted) {
  uid_t peer = 0;
#ifdef SO_PEERCRED
  struct ucred cred {};
  socklen_t size = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) {
    return std::string("cannot learn who serves the socket (SO_PEERCRED): ") + std::strerror(errno);
  }
  peer = cred.uid;
#else
  gid_t group = 0;
  if (::getpeereid(fd, &peer, &group) != 0) {
    return std::string("cannot learn who serves the socket (getpeereid): ") + std::strerror(errno);
  }
#endif
  if (!trusted_uid(peer, trusted)) {
    return "refusing the server: it runs as uid " + std::to_string(peer) + ", not as you (uid " +
           std::to_string(::getuid()) + ") or root" + hint(peer);
  }
  return "";
}

}  // namespace coordd
