// RedisServer: the fan-out peer: Debian's redis-server on 127.0.0.1 at a free
// port, without persistence, in the foreground as our child so that it is
// stopped with this object (and with the harness). Main thread only.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "bench/child_options.hpp"

namespace coordd::bench {

class RedisServer {
 public:
  // Starts `binary` writing its log to `dir`/redis.log; returns once it
  // answers PING. Throws std::runtime_error otherwise (10 s).
  RedisServer(const std::string& binary, const std::filesystem::path& dir);

  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }

 private:
  int port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
int free_tcp_port();

}  // namespace coordd::bench
