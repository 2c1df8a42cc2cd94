#include "daemon/service/socket_activation.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#ifdef __APPLE__
#include <launch.h>
#endif

namespace coordd {
namespace {

constexpr int kFirstListenFd = 3;  // SD_LISTEN_FDS_START

// Why fd cannot serve as our listening socket, or "".
std::string unusable(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "fd " + std::to_string(fd) + " is not open";
  if (!S_ISSOCK(st.st_mode)) return "fd " + std::to_string(fd) + " is not a socket";
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
    return "fd " + std::to_string(fd) + " is not a stream socket (use ListenStream=)";
  }
  sockaddr_storage addr{};
  len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      addr.ss_family != AF_UNIX) {
    return "fd " + std::to_string(fd) + " is not a Unix socket (ListenStream= must be a path)";
  }
  int listening = 0;
  len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
    return "fd " + std::to_string(fd) + " is not listening";
  }
  return "";
}

}  // namespace

ActivatedSockets take_activated_sockets() {
  ActivatedSockets result;
#ifdef __APPLE__
  int* fds = nullptr;
  size_t count = 0;
  if (launch_activate_socket("Listeners", &fds, &count) == 0) {
    for (size_t i = 0; i < count; ++i) {
      ::fcntl(fds[i], F_SETFD, FD_CLOEXEC);
      result.fds.push_back(fds[i]);
    }
    std::free(fds);
    return result;
  }
#endif
  const char* pid_env = std::getenv("LISTEN_PID");
  const char* fds_env = std::getenv("LISTEN_FDS");
  const char* names_env = std::getenv("LISTEN_FDNAMES");
  std::string names = names_env ? names_env : "";
  bool for_us = pid_env && fds_env && std::strtol(pid_env, nullptr, 10) == long(::getpid());
  long count = for_us ? std::strtol(fds_env, nullptr, 10) : 0;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!for_us) return result;
  if (count < 1 || count > 64) {
    result.error = "LISTEN_FDS=" + std::string(fds_env) + " is not a usable count of sockets";
    return result;
  }
  std::istringstream split(names);
  for (int fd = kFirstListenFd; fd < kFirstListenFd + count; ++fd) {
    std::string name;
    if (!std::getline(split, name, ':')) name.clear();
    std::string problem = unusable(fd);
    if (!problem.empty()) {
      result.error = "socket activation passed " + problem;
      return result;
    }
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
    result.fds.push_back(fd);
    result.names.push_back(name);
  }
  return result;
}

}  // namespace coordd
