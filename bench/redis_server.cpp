#include "bench/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "bench/latency.hpp"
#include "bench/redis_client.hpp"

namespace coordd::bench {

int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("bind to a free port: ") + std::strerror(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

RedisServer::RedisServer(const std::string& binary, const std::filesystem::path& dir)
    : port_(free_tcp_port()) {
  ChildOptions options;
  options.output_path = (dir / "redis.log").string();
  child_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{binary, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir",
                               dir.string()},
      options);
  // It listens shortly after exec; until then connect() is refused.
  std::int64_t deadline = mono_now_ns() + 10'000'000'000;
  for (;;) {
    try {
      RedisConnection probe(port_);
      probe.send_all(resp_command({"PING"}));
      if (probe.read_reply(std::chrono::seconds(2)).at(0) == "PONG") return;
    } catch (const std::runtime_error& e) {
      if (child_->wait_exit(std::chrono::milliseconds(0))) {
        throw std::runtime_error("redis-server exited at start; see " + options.output_path);
      }
      if (mono_now_ns() > deadline) {
        throw std::runtime_error(std::string("redis-server does not answer PING: ") + e.what());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace coordd::bench
