#include "proto/socket_path.hpp"

#include <unistd.h>

#include <cstdlib>

namespace coordd {

std::string default_socket_path() {
  if (const char* env = std::getenv("COORDD_SOCKET"); env && *env) return env;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::string(runtime) + "/coordd/coordd.sock";
  }
  return "/tmp/coordd-" + std::to_string(::getuid()) + "/coordd.sock";
}

}  // namespace coordd
